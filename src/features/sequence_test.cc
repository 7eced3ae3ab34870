#include "features/sequence.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(SequenceTest, WindowsFollowSourceAndTime) {
  Table t;
  t.rows = 6;
  // Rows interleaved across hosts and out of time order in the file.
  t.sources = {"a", "b", "a", "a", "b", "a"};
  t.times = {3, 1, 1, 2, 2, 4};
  auto w = BuildWindows(t, 3);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto window = [&](size_t row) {
    return std::vector<int64_t>(w->begin() + row * 3, w->begin() + row * 3 + 3);
  };
  // Host a in time order: rows 2 (t=1), 3 (t=2), 0 (t=3), 5 (t=4).
  EXPECT_EQ(window(2), (std::vector<int64_t>{-1, -1, 2}));
  EXPECT_EQ(window(3), (std::vector<int64_t>{-1, 2, 3}));
  EXPECT_EQ(window(0), (std::vector<int64_t>{2, 3, 0}));
  EXPECT_EQ(window(5), (std::vector<int64_t>{3, 0, 5}));
  // Host b: rows 1 (t=1), 4 (t=2); never mixes with host a.
  EXPECT_EQ(window(4), (std::vector<int64_t>{-1, 1, 4}));
}

TEST(SequenceTest, RefusesDataWithoutSourceAndTime) {
  Table t;
  t.rows = 3;
  t.source_path = "KDDTrain+.txt";
  auto w = BuildWindows(t, 4);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(w.status().message().find("KDDTrain+.txt"), std::string::npos);
  EXPECT_NE(w.status().message().find("leak"), std::string::npos);
}

}  // namespace
}  // namespace vigil
