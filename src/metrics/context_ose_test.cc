#include "metrics/context_ose.h"

#include <gtest/gtest.h>

#include <random>

namespace vigil::metrics {
namespace {

ContextOseConfig NoRest() {
  ContextOseConfig c;
  c.rest_period = 0;
  return c;
}

// A pattern repeated over and over is learnt: once every transition has been seen, every sensor
// fact is predicted and the score is 0.
TEST(ContextOseTest, ARepeatedPatternIsLearntAndScoresZero) {
  ContextOse d(NoRest());
  d.SetRange(0, 7);
  const double pattern[] = {0, 3, 7, 5, 1, 6};
  double last_round = 0;
  for (int round = 0; round < 60; ++round) {
    for (double v : pattern) {
      const double s = d.Update(v);
      EXPECT_GE(s, 0.0);
      EXPECT_LE(s, 1.0);
      if (round == 59) last_round += s;
    }
  }
  EXPECT_EQ(last_round, 0.0);
}

// A value that breaks a learnt pattern was not predicted and follows no stored context: it scores
// at least 0.5 (no applicable context fired), where the learnt pattern scored 0.
TEST(ContextOseTest, ABrokenPatternScoresHigh) {
  ContextOse d(NoRest());
  d.SetRange(0, 7);
  const double pattern[] = {0, 3, 7, 5, 1, 6};
  for (int round = 0; round < 60; ++round) {
    for (double v : pattern) d.Update(v);
  }
  d.Update(0);
  d.Update(3);
  const double broken = d.Update(2);  // 7 expected: bin 2 (010) differs from 7 (111)
  EXPECT_GE(broken, 0.5);
}

// A constant series stays in one bin: after its first few points everything is predicted.
TEST(ContextOseTest, AConstantSeriesScoresZero) {
  ContextOse d(NoRest());
  double late = 0;
  for (int i = 0; i < 500; ++i) {
    const double s = d.Update(42.0);
    if (i >= 10) late += s;
  }
  EXPECT_EQ(late, 0.0);
}

// After a score of at least base_threshold nothing is reported for rest_period points; the very
// first points are a rest too (CAD OSE starts its history with a score of 1).
TEST(ContextOseTest, RestsAfterAHighScore) {
  ContextOseConfig c;
  c.rest_period = 20;
  ContextOse d(c);
  d.SetRange(0, 7);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(d.Update(i % 8), 0.0) << "initial rest, point " << i;
  const double pattern[] = {0, 3, 7, 5, 1, 6};
  for (int round = 0; round < 60; ++round) {
    for (double v : pattern) d.Update(v);
  }
  d.Update(0);
  d.Update(3);
  EXPECT_GE(d.Update(2), 0.75);  // the broken pattern, reported
  // The points that follow break the learnt contexts too, but are not reported.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(d.Update((i * 5 + 2) % 8), 0.0) << "rest, point " << i;
}

// The store is bounded: random values create contexts until the bound, then no more, and the
// memory stops growing.
TEST(ContextOseTest, TheContextStoreIsBounded) {
  ContextOseConfig c = NoRest();
  c.max_contexts = 200;
  ContextOse d(c);
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 100);
  for (int i = 0; i < 3000; ++i) d.Update(u(rng));
  EXPECT_EQ(d.contexts(), 200u);
  const size_t full = d.MemoryBytes();
  for (int i = 0; i < 3000; ++i) {
    const double s = d.Update(u(rng));
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 1.0);
  }
  EXPECT_EQ(d.contexts(), 200u);
  EXPECT_EQ(d.MemoryBytes(), full);
  // Contexts, left sides, their facts and the hash table, with vector slack.
  EXPECT_LT(full, 200u * 200);
}

// Online range: a value far outside what was seen becomes the top bin, never sensed before, so it
// is surprising; values are learnt without any known range.
TEST(ContextOseTest, OnlineRangeFlagsANewExtreme) {
  ContextOse d(NoRest());
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 2000; ++i) d.Update(10 + (i % 4) + 0.1 * u(rng));
  EXPECT_GE(d.Update(100), 0.5);
}

}  // namespace
}  // namespace vigil::metrics
