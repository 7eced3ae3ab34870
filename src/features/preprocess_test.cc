#include "features/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace vigil {
namespace {

Table MakeTable() {
  Table t;
  t.source_path = "mem";
  t.rows = 8;
  t.numeric_names = {"heavy", "plain", "constant"};
  // heavy: non-negative and strongly skewed -> log1p; plain: symmetric -> no log.
  t.numeric = {
      {0, 1, 2, 1, 0, 3, 1, 5000}, {-1, 1, -2, 2, 0.5, -0.5, 0, 0}, {7, 7, 7, 7, 7, 7, 7, 7}};
  t.categorical_names = {"proto"};
  t.categorical = {{"tcp", "tcp", "udp", "tcp", "icmp", "udp", "tcp", "tcp"}};
  return t;
}

TEST(PreprocessTest, FitsLogStandardisationAndOneHot) {
  auto p = Preprocessor::Fit(MakeTable());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->numeric().size(), 3u);
  EXPECT_TRUE(p->numeric()[0].log1p);
  EXPECT_FALSE(p->numeric()[1].log1p);
  EXPECT_EQ(p->numeric()[2].std, 1.0);  // constant column keeps scale 1
  // Most frequent first: tcp (5), udp (2), icmp (1); plus "other".
  EXPECT_EQ(p->categorical()[0].values, (std::vector<std::string>{"tcp", "udp", "icmp"}));
  EXPECT_EQ(p->output_dim(), 3u + 4u);
  EXPECT_EQ(p->OutputNames().back(), "proto=<other>");

  std::vector<float> x;
  ASSERT_TRUE(p->Transform(MakeTable(), &x).ok());
  ASSERT_EQ(x.size(), 8u * 7u);
  // The "plain" column has mean 0 after standardisation.
  double sum = 0;
  for (size_t r = 0; r < 8; ++r) sum += x[r * 7 + 1];
  EXPECT_NEAR(sum / 8, 0.0, 1e-6);
  // Row 2 is udp: one-hot position 1 of the block that starts at column 3.
  EXPECT_EQ(x[2 * 7 + 3], 0.0f);
  EXPECT_EQ(x[2 * 7 + 4], 1.0f);
  // heavy = log1p(1) standardised, by hand.
  const auto& h = p->numeric()[0];
  EXPECT_NEAR(x[1 * 7 + 0], (std::log1p(1.0) - h.mean) / h.std, 1e-6);
}

TEST(PreprocessTest, UnseenCategoryGoesToOtherAndNonFiniteIsReplaced) {
  auto p = Preprocessor::Fit(MakeTable());
  ASSERT_TRUE(p.ok());
  Table t = MakeTable();
  t.categorical[0][0] = "sctp";
  t.numeric[0][1] = std::numeric_limits<double>::quiet_NaN();
  t.numeric[0][2] = std::numeric_limits<double>::infinity();
  t.numeric[1][3] = -std::numeric_limits<double>::infinity();
  t.numeric[1][4] = 1e300;
  std::vector<float> x;
  ASSERT_TRUE(p->Transform(t, &x).ok());
  for (float v : x) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(x[0 * 7 + 6], 1.0f);  // "other"
  // +Inf is read as the training maximum of the column (5000).
  const auto& h = p->numeric()[0];
  EXPECT_NEAR(x[2 * 7 + 0], std::clamp((std::log1p(5000.0) - h.mean) / h.std, -10.0, 10.0), 1e-5);
  EXPECT_LE(x[4 * 7 + 1], 10.0f);  // clipped
}

TEST(PreprocessTest, JsonRoundTripTransformsBitForBit) {
  auto p = Preprocessor::Fit(MakeTable());
  ASSERT_TRUE(p.ok());
  std::string text = p->ToJson().dump();
  auto q = Preprocessor::FromJson(nlohmann::json::parse(text));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  Table t = MakeTable();
  t.numeric[1][0] = 0.123456789;
  std::vector<float> a, b;
  ASSERT_TRUE(p->Transform(t, &a).ok());
  ASSERT_TRUE(q->Transform(t, &b).ok());
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_EQ(p->ToJson(), q->ToJson());
}

TEST(PreprocessTest, MatchesColumnsByNameAndReportsMissingOnes) {
  auto p = Preprocessor::Fit(MakeTable());
  ASSERT_TRUE(p.ok());
  Table t = MakeTable();
  std::swap(t.numeric_names[0], t.numeric_names[1]);
  std::swap(t.numeric[0], t.numeric[1]);
  std::vector<float> a, b;
  ASSERT_TRUE(p->Transform(MakeTable(), &a).ok());
  ASSERT_TRUE(p->Transform(t, &b).ok());
  EXPECT_EQ(a, b);
  t.numeric_names[0] = "renamed";
  Status s = p->Transform(t, &b);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'plain'"), std::string::npos) << s.message();
}

TEST(PreprocessTest, RejectsCorruptState) {
  auto p = Preprocessor::Fit(MakeTable());
  ASSERT_TRUE(p.ok());
  nlohmann::json j = p->ToJson();
  j["numeric"][0]["std"] = 0.0;
  EXPECT_FALSE(Preprocessor::FromJson(j).ok());
  j = p->ToJson();
  j["output_dim"] = 99;
  EXPECT_FALSE(Preprocessor::FromJson(j).ok());
  j = p->ToJson();
  j.erase("numeric");
  EXPECT_FALSE(Preprocessor::FromJson(j).ok());
}

TEST(PreprocessTest, EmptyTableIsAnError) {
  Table t;
  EXPECT_FALSE(Preprocessor::Fit(t).ok());
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(PreprocessTest, PiecewiseLinearBinsAreAThermometerCode) {
  Table t;
  t.rows = 100;
  t.numeric_names = {"x", "constant"};
  t.numeric.resize(2);
  for (int i = 0; i < 100; ++i) {
    t.numeric[0].push_back(i);
    t.numeric[1].push_back(3);
  }
  PreprocessOptions o;
  o.numeric_bins = 4;
  auto p = Preprocessor::Fit(t, o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto& edges = p->numeric()[0].bin_edges;
  ASSERT_EQ(edges.size(), 5u);  // min, 3 quantiles, max
  EXPECT_TRUE(p->numeric()[1].bin_edges.empty());
  EXPECT_EQ(p->output_dim(), 2u + 4u);
  EXPECT_EQ(p->OutputNames()[2], "x#bin1");

  std::vector<float> x;
  ASSERT_TRUE(p->Transform(t, &x).ok());
  const size_t dim = p->output_dim();
  for (size_t r = 0; r < t.rows; ++r) {
    const float* row = &x[r * dim + 2];
    // Monotone thermometer: full bins, then one partial bin, then empty ones.
    for (size_t i = 1; i < 4; ++i) EXPECT_GE(row[i - 1], row[i]);
    for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(row[i] >= 0 && row[i] <= 1);
  }
  EXPECT_EQ(x[0 * dim + 2], 0.0f);   // the minimum fills nothing
  EXPECT_EQ(x[99 * dim + 5], 1.0f);  // the maximum fills everything

  auto q = Preprocessor::FromJson(nlohmann::json::parse(p->ToJson().dump()));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  std::vector<float> y;
  ASSERT_TRUE(q->Transform(t, &y).ok());
  EXPECT_EQ(x, y);

  nlohmann::json j = p->ToJson();
  j["numeric"][0]["bin_edges"][2] = -100.0;
  EXPECT_FALSE(Preprocessor::FromJson(j).ok());
}

}  // namespace
}  // namespace vigil
