#include "metrics/series_watch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

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
