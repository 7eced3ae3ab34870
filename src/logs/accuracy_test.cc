#include "logs/accuracy.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(GroupingAccuracyTest, HandMadeExample) {
  // Truth: A = {0,1,2}, B = {3,4}, C = {5}, D = {6,7}.
  std::vector<std::string> truth = {"A", "A", "A", "B", "B", "C", "D", "D"};
  // A exactly (ids need not match labels), B split in two, C merged with D.
  std::vector<int> predicted = {7, 7, 7, 1, 2, 3, 3, 3};
  // Only A's three lines are right.
  EXPECT_DOUBLE_EQ(GroupingAccuracy(truth, predicted), 3.0 / 8.0);
}

TEST(GroupingAccuracyTest, PerfectAndDegenerate) {
  std::vector<std::string> truth = {"x", "y", "x"};
  EXPECT_DOUBLE_EQ(GroupingAccuracy(truth, {5, 6, 5}), 1.0);
  EXPECT_DOUBLE_EQ(GroupingAccuracy(truth, {5, 5, 5}), 0.0);        // all in one group
  EXPECT_DOUBLE_EQ(GroupingAccuracy(truth, {1, 2, 3}), 1.0 / 3.0);  // only "y" is right
  EXPECT_DOUBLE_EQ(GroupingAccuracy({}, {}), 1.0);
}

}  // namespace
}  // namespace vigil
