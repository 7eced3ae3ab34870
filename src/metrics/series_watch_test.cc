#include "metrics/series_watch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace vigil::metrics {
namespace {

DetectorOutput Out(double score) {
  DetectorOutput o;
  o.score = score;
  o.expected_low = 1;
  o.expected_high = 2;
  return o;
}

TEST(SeriesWatchTest, KeepsOnlySeriesThatAlertedFromTheirAlertOn) {
  SeriesWatch w(2, 4);
  w.Record("a", 1'000'000'000, 5, Out(0.1));  // not watched yet: not kept
  EXPECT_TRUE(w.empty());
  w.Alerted("a", 2'000'000'000);
  w.Record("a", 2'000'000'000, 9, Out(0.9));
  for (int i = 3; i <= 7; ++i) w.Record("a", int64_t{i} * 1'000'000'000, i, Out(0.2));
  // The ring holds the last 4 points, oldest first.
  const nlohmann::json p = w.Points("a", 100);
  ASSERT_EQ(p["points"].size(), 4u) << p.dump();
  EXPECT_EQ(p["points"][0][0].get<double>(), 4.0);
  EXPECT_EQ(p["points"][3][0].get<double>(), 7.0);
  EXPECT_EQ(p["points"][3][1].get<double>(), 7.0);
  EXPECT_FLOAT_EQ(p["points"][3][2].get<float>(), 0.2f);
  EXPECT_EQ(p["points"][3][3].get<double>(), 1.0);
  EXPECT_EQ(p["points"][3][4].get<double>(), 2.0);
  EXPECT_EQ(p["alerts"], 1);
  EXPECT_EQ(w.Points("a", 2)["points"].size(), 2u);
  EXPECT_EQ(w.Points("a", 2)["points"][1][0].get<double>(), 7.0);
  EXPECT_TRUE(w.Points("nope", 10).is_null());
}

TEST(SeriesWatchTest, ANewWatchStartsWithThePointsThatLedUpToTheAlert) {
  SeriesWatch w(2, 4);
  std::vector<ScoredPoint> recent;
  for (int i = 1; i <= 5; ++i) recent.push_back({int64_t{i} * 1'000'000'000, float(i), 0.1f, 0, 9});
  recent.back().score = 0.9f;             // the alert's own point
  w.Alerted("a", 5'000'000'000, recent);  // more than the ring holds: the newest 4
  nlohmann::json p = w.Points("a", 100);
  ASSERT_EQ(p["points"].size(), 4u) << p.dump();
  EXPECT_EQ(p["points"][0][0].get<double>(), 2.0);
  EXPECT_FLOAT_EQ(p["points"][3][2].get<float>(), 0.9f);
  w.Record("a", 6'000'000'000, 6, Out(0.2));  // then the ring goes on from there
  p = w.Points("a", 100);
  ASSERT_EQ(p["points"].size(), 4u);
  EXPECT_EQ(p["points"][0][0].get<double>(), 3.0);
  EXPECT_EQ(p["points"][3][0].get<double>(), 6.0);
  // A series already watched keeps its ring: a later alert's points are not added twice.
  w.Alerted("a", 6'000'000'000, recent);
  EXPECT_EQ(w.Points("a", 100)["points"][3][0].get<double>(), 6.0);
  // Fewer than the ring holds: kept as they are, and the ring grows from there.
  w.Alerted("b", 2'000'000'000, {recent[0], recent[1]});
  w.Record("b", 3'000'000'000, 3, Out(0.2));
  p = w.Points("b", 100);
  ASSERT_EQ(p["points"].size(), 3u);
  EXPECT_EQ(p["points"][0][0].get<double>(), 1.0);
  EXPECT_EQ(p["points"][2][0].get<double>(), 3.0);
}

TEST(SeriesWatchTest, ReplacesTheSeriesWhoseLastAlertIsOldest) {
  SeriesWatch w(2, 8);
  w.Alerted("a", 10);
  w.Alerted("b", 20);
  w.Alerted("a", 30);  // a alerted again: b is now the oldest
  w.Alerted("c", 40);
  EXPECT_EQ(w.size(), 2u);
  EXPECT_TRUE(w.Points("b", 1).is_null());
  const nlohmann::json list = w.List()["series"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["series"], "c");  // last alert first
  EXPECT_EQ(list[1]["series"], "a");
  EXPECT_EQ(list[1]["alerts"], 2);
}

TEST(SeriesWatchTest, NonFiniteNumbersAreNull) {
  SeriesWatch w;
  w.Alerted("a", 0);
  DetectorOutput o = Out(0.5);
  o.expected_high = std::numeric_limits<double>::infinity();
  w.Record("a", 0, 1e300, o);  // beyond float: infinite once stored
  const nlohmann::json p = w.Points("a", 10);
  EXPECT_TRUE(p["points"][0][1].is_null());
  EXPECT_TRUE(p["points"][0][4].is_null());
  EXPECT_NO_THROW(p.dump());
}

}  // namespace
}  // namespace vigil::metrics
