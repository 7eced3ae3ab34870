#include "infer/encode.h"

#include <gtest/gtest.h>

#include "features/sequence.h"

namespace vigil {
namespace {

// Streaming windows equal BuildWindows' windows on a table in time order per source.
TEST(SequenceState, MatchesBuildWindowsOnATimeOrderedStream) {
  Table t;
  const char* hosts[] = {"a", "b", "a", "c", "a", "b", "a", "a", "c", "b", "a"};
  for (size_t r = 0; r < std::size(hosts); ++r) {
    t.sources.push_back(hosts[r]);
    t.times.push_back(static_cast<double>(r));
  }
  t.rows = t.sources.size();
  const size_t w = 3, d = 2;
  auto idx = BuildWindows(t, w);
  ASSERT_TRUE(idx.ok());
  SequenceState state(w, d, 100);
  std::vector<float> out(w * d);
  for (size_t r = 0; r < t.rows; ++r) {
    const float f[2] = {static_cast<float>(r + 1), -static_cast<float>(r + 1)};
    state.Push(t.sources[r], f, out.data());
    for (size_t k = 0; k < w; ++k) {
      const int64_t src = (*idx)[r * w + k];
      const float want = src < 0 ? 0.0f : static_cast<float>(src + 1);
      EXPECT_EQ(out[k * d], want) << "row " << r << " step " << k;
      EXPECT_EQ(out[k * d + 1], -want);
    }
  }
  EXPECT_EQ(state.sources(), 3u);
  EXPECT_EQ(state.evicted(), 0u);
}

TEST(SequenceState, ForgetsTheLeastRecentSourceBeyondItsBound) {
  SequenceState state(2, 1, 2);
  float out[2];
  const float one = 1, two = 2, three = 3, four = 4;
  state.Push("a", &one, out);
  state.Push("b", &two, out);
  state.Push("a", &three, out);  // a is now the most recent
  EXPECT_EQ(out[0], 1);
  state.Push("c", &four, out);  // evicts b
  EXPECT_EQ(state.evicted(), 1u);
  state.Push("b", &four, out);  // b starts over; evicts a
  EXPECT_EQ(out[0], 0);
  state.Push("c", &one, out);
  EXPECT_EQ(out[0], 4);
}

}  // namespace
}  // namespace vigil
