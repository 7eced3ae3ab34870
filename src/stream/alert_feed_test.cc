#include "stream/alert_feed.h"

#include <gtest/gtest.h>

#include <thread>

namespace vigil {
namespace {

using std::chrono::milliseconds;

TEST(AlertFeedTest, NumbersPagesAndForgetsTheOldest) {
  AlertFeed feed(3);
  EXPECT_EQ(feed.last(), 0u);
  AlertFeed::Page p = feed.Since(0, 10, milliseconds(0));
  EXPECT_TRUE(p.items.empty());
  EXPECT_EQ(p.next, 0u);
  for (int i = 1; i <= 5; ++i) feed.Append("{\"n\":" + std::to_string(i) + "}");
  EXPECT_EQ(feed.last(), 5u);
  // Only the last three are kept; a reader from 0 gets them and learns where the feed stands.
  p = feed.Since(0, 10, milliseconds(0));
  ASSERT_EQ(p.items.size(), 3u);
  EXPECT_EQ(p.items[0], "{\"n\":3}");
  EXPECT_EQ(p.next, 5u);
  // Paging with n.
  p = feed.Since(3, 1, milliseconds(0));
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0], "{\"n\":4}");
  EXPECT_EQ(p.next, 4u);
  // A reader ahead of the feed (the agent restarted) is brought back to where it stands.
  p = feed.Since(99, 10, milliseconds(0));
  EXPECT_TRUE(p.items.empty());
  EXPECT_EQ(p.next, 5u);
}

TEST(AlertFeedTest, LongPollWakesOnAppendAndOnClose) {
  AlertFeed feed;
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    feed.Append("{}");
  });
  const auto t0 = std::chrono::steady_clock::now();
  AlertFeed::Page p = feed.Since(0, 10, milliseconds(5000));
  const auto waited = std::chrono::steady_clock::now() - t0;
  writer.join();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_LT(waited, milliseconds(4000));  // woken by the append, not the timeout

  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    feed.Close();
  });
  p = feed.Since(1, 10, milliseconds(5000));
  closer.join();
  EXPECT_TRUE(p.items.empty());
  EXPECT_EQ(p.next, 1u);
}

}  // namespace
}  // namespace vigil
