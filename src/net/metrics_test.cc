#include "net/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace vigil {
namespace {

TEST(Metrics, RendersTheTextExposition) {
  Metrics m;
  Counter* c = m.AddCounter("vigil_records_total", "Records scored.");
  Gauge* g = m.AddGauge("vigil_queue_depth", "Records waiting.");
  Histogram* h = m.AddHistogram("vigil_latency_seconds", "Latency.", {0.001, 0.01});
  m.AddGauge("vigil_model_info", "Model.", "name=\"" + LabelValue("a\"b") + "\"")->Set(1);
  c->Add(3);
  g->Set(2.5);
  h->Observe(0.0005);
  h->Observe(0.005);
  h->Observe(5);
  const std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE vigil_records_total counter\nvigil_records_total 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vigil_queue_depth 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_latency_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_latency_seconds_bucket{le=\"0.01\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_latency_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_model_info{name=\"a\\\"b\"} 1\n"), std::string::npos);
}

TEST(Metrics, CountersAreExactUnderConcurrency) {
  Metrics m;
  Counter* c = m.AddCounter("n", "n");
  Histogram* h = m.AddHistogram("h", "h", ExponentialBuckets(1, 2, 4));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Add();
        h->Observe(3);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000u);
  EXPECT_EQ(h->count(), 40000u);
  EXPECT_DOUBLE_EQ(h->sum(), 120000);
  EXPECT_EQ(h->Quantile(0.5), 4);  // bounds 1, 2, 4, 8
}

}  // namespace
}  // namespace vigil
