// The detection plane's DeepLog (infer/deeplog_scorer.h, no LibTorch, one key at a time) against
// the training plane's (LibTorch, train/deeplog_scoring.cc, whole sessions): a small model trained
// on the DeepLog HDFS sessions (or a generated set when they are absent) judges HDFS test sessions
// with both. Every symbol's probability agrees within 1e-5, every key and end gets the same
// verdict, and each session the same first unexpected symbol and expected list as JudgeSessions.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/file.h"
#include "infer/deeplog_scorer.h"
#include "train/deeplog.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

const std::string kHdfs = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/deeplog-hdfs";

// Sessions over keys 1..12 with a few fixed shapes and random repeats; used when the HDFS files
// are absent.
std::string WriteGenerated(const std::string& path, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::ofstream f(path);
  for (size_t i = 0; i < n; ++i) {
    const int reps = 1 + static_cast<int>(rng() % 3);
    f << (rng() % 2 ? "5 " : "1 ");
    for (int r = 0; r < reps; ++r) f << "2 3 ";
    if (rng() % 4 == 0) f << "7 ";
    f << (rng() % 2 ? "4 9" : "4 11 12") << "\n";
  }
  return path;
}

TEST(DeepLogStreamParity, SameVerdictPerKeyAsLibTorch) {
  const fs::path dir =
      fs::temp_directory_path() / ("vigil_deeplog_parity_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const bool hdfs =
      FileExists(kHdfs + "/hdfs_train") && FileExists(kHdfs + "/robust_log_train.csv");
  TrainConfig c;
  c.format = "sessions";
  c.model = "deeplog";
  c.train = hdfs ? kHdfs + "/hdfs_train" : WriteGenerated((dir / "train.txt").string(), 600, 1);
  c.out = (dir / "m.vigil").string();
  c.threads = 1;
  c.quiet = true;
  c.epochs = 4;
  c.lstm_hidden = 32;
  c.lstm_layers = 2;
  auto summary = TrainDeepLog(c);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();

  auto torch_model = LoadDeepLog(c.out);
  ASSERT_TRUE(torch_model.ok()) << torch_model.status().ToString();
  auto scorer = DeepLogScorer::Load(c.out);
  ASSERT_TRUE(scorer.ok()) << scorer.status().ToString();
  ASSERT_EQ(scorer->threshold(), torch_model->threshold);
  ASSERT_EQ(scorer->window(), torch_model->spec.window);

  SessionSet test;
  if (hdfs) {
    auto robust = ReadSessions(kHdfs + "/robust_log_train.csv", "sessions-csv", true);
    ASSERT_TRUE(robust.ok()) << robust.status().ToString();
    // A spread of normal and anomalous sessions: every 6th row (2,000 of 12,000).
    for (size_t i = 0; i < robust->size(); i += 6) test.keys.push_back(robust->keys[i]);
  } else {
    auto gen = ReadSessions(WriteGenerated((dir / "test.txt").string(), 300, 2), "sessions");
    ASSERT_TRUE(gen.ok());
    test.keys = gen->keys;
    test.keys.push_back({"1", "4", "9"});        // skips a step
    test.keys.push_back({"1", "2", "3"});        // stops early
    test.keys.push_back({"1", "2", "99", "3"});  // an unknown key
  }
  std::vector<SessionVerdict> want = JudgeSessions(*torch_model, test);

  torch::NoGradGuard no_grad;
  const int64_t h = scorer->window(), v = scorer->vocab_size();
  DeepLogWorkspace ws;
  double max_diff = 0;
  size_t symbols = 0, unexpected = 0, anomalies = 0;
  for (size_t s = 0; s < test.size(); ++s) {
    const std::vector<std::string>& keys = test.keys[s];
    std::vector<int64_t> enc = EncodeSession(torch_model->vocab, keys, h);
    const auto n = static_cast<int64_t>(keys.size()) + 1;  // keys and the end
    std::vector<int64_t> windows;
    for (int64_t i = 0; i < n; ++i)
      windows.insert(windows.end(), enc.begin() + i, enc.begin() + i + h);
    torch::Tensor w = torch::from_blob(windows.data(), {n, h}, torch::kInt64);
    torch::Tensor ref = -torch::log_softmax(torch_model->net->forward(w), 1).contiguous();
    const float* rp = ref.data_ptr<float>();

    DeepLogSession session(*scorer);
    bool anomaly = false;
    size_t first = 0;
    SymbolVerdict first_verdict;
    for (int64_t i = 0; i < n; ++i) {
      SymbolVerdict got = i + 1 < n ? session.Add(*scorer, keys[static_cast<size_t>(i)], &ws)
                                    : session.End(*scorer, &ws);
      const float* row = scorer->Surprise(windows.data() + i * h, &ws);
      const float* trow = rp + i * v;
      for (int64_t k = 0; k < v; ++k) {
        max_diff = std::max(max_diff, std::abs(std::exp(-static_cast<double>(row[k])) -
                                               std::exp(-static_cast<double>(trow[k]))));
      }
      // The verdict the training plane's rule gives on LibTorch's distribution.
      const int64_t t = enc[static_cast<size_t>(i + h)];
      int64_t rank = 0;
      for (int64_t k = 0; k < v; ++k) rank += trow[k] < trow[t] ? 1 : 0;
      const bool outside = t == KeyVocabulary::kUnknown || rank >= std::min(scorer->top_g(), v);
      const float score = outside ? kDeepLogCap : std::min(trow[t], kDeepLogCap - 1);
      const bool torch_expected = !(score > torch_model->threshold);
      EXPECT_EQ(got.expected, torch_expected) << "session " << s << " symbol " << i;
      EXPECT_EQ(got.score >= kDeepLogScoreCap, score >= kDeepLogCap);
      ++symbols;
      if (!got.expected) {
        ++unexpected;
        if (!anomaly) first = static_cast<size_t>(i) + 1, first_verdict = got;
        anomaly = true;
      }
    }
    anomalies += anomaly;
    ASSERT_EQ(anomaly, want[s].anomaly) << "session " << s;
    if (!anomaly) continue;
    EXPECT_EQ(first, want[s].position) << "session " << s;
    EXPECT_NEAR(first_verdict.probability, want[s].probability, 1e-5);
    std::vector<std::string> expected;
    for (size_t k = 0; k < first_verdict.top.size(); ++k) {
      if (first_verdict.passes[k])
        expected.push_back(scorer->vocab().Name(first_verdict.top[k].symbol));
    }
    EXPECT_EQ(expected, want[s].expected) << "session " << s;
  }
  std::printf(
      "deeplog parity: %zu sessions (%zu anomalous), %zu symbols (%zu unexpected), max |dp| %.3g, "
      "%llu forward passes, %llu cache hits\n",
      test.size(), anomalies, symbols, unexpected, max_diff,
      static_cast<unsigned long long>(ws.forwards), static_cast<unsigned long long>(ws.cache_hits));
  EXPECT_LT(max_diff, 1e-5);
  EXPECT_GT(anomalies, 0u);
  EXPECT_LT(anomalies, test.size());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vigil
