// DeepLogScorer against a naive double-precision LSTM written here from model/deeplog.h, on
// bundles with random weights built in the test; the judging rules on hand-made distributions;
// bad bundles. (The parity test against LibTorch is src/train/deeplog_stream_parity_test.cc.)
#include "infer/deeplog_scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace vigil {
namespace {

struct Spec {
  std::vector<std::string> keys = {"E1", "E2", "E3", "E4", "E5"};
  int64_t window = 4, top_g = 3, hidden = 6, layers = 2;
  double threshold = 3.0;
};

Bundle MakeBundle(const Spec& s, uint32_t seed) {
  const int64_t v = KeyVocabulary::kFirstKey + static_cast<int64_t>(s.keys.size());
  Bundle b;
  b.metadata["model"] = {
      {"type", "deeplog"},
      {"window", s.window},
      {"top_g", s.top_g},
      {"vocabulary",
       {{"keys", s.keys}, {"start", 0}, {"end", 1}, {"unknown", 2}, {"first_key", 3}}},
      {"lstm", {{"input", v}, {"hidden", s.hidden}, {"layers", s.layers}}}};
  b.metadata["score"] = {{"threshold", s.threshold}};
  b.sha256 = std::string(64, 'a');
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.8f);
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    BundleTensor t;
    t.name = name;
    t.shape = shape;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    for (int64_t i = 0; i < n; ++i) t.data.push_back(normal(rng));
    b.tensors.push_back(std::move(t));
  };
  int64_t width = v;
  for (int64_t k = 0; k < s.layers; ++k) {
    const std::string sfx = "_l" + std::to_string(k);
    add("lstm.weight_ih" + sfx, {4 * s.hidden, width});
    add("lstm.weight_hh" + sfx, {4 * s.hidden, s.hidden});
    add("lstm.bias_ih" + sfx, {4 * s.hidden});
    add("lstm.bias_hh" + sfx, {4 * s.hidden});
    width = s.hidden;
  }
  add("fc0.weight", {v, s.hidden});
  add("fc0.bias", {v});
  return b;
}

// Surprise of every symbol after `window`, in double precision, straight from the layout.
std::vector<double> Reference(const Bundle& b, const Spec& s, const std::vector<int64_t>& window) {
  const int64_t v = KeyVocabulary::kFirstKey + static_cast<int64_t>(s.keys.size());
  const auto H = static_cast<size_t>(s.hidden);
  std::vector<std::vector<double>> seq;
  for (int64_t sym : window) {
    std::vector<double> x(static_cast<size_t>(v), 0.0);
    x[static_cast<size_t>(sym)] = 1;
    seq.push_back(x);
  }
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  for (int64_t k = 0; k < s.layers; ++k) {
    const std::string sfx = "_l" + std::to_string(k);
    const BundleTensor* wih = b.Find("lstm.weight_ih" + sfx);
    const BundleTensor* whh = b.Find("lstm.weight_hh" + sfx);
    const BundleTensor* bih = b.Find("lstm.bias_ih" + sfx);
    const BundleTensor* bhh = b.Find("lstm.bias_hh" + sfx);
    const size_t in = seq[0].size();
    std::vector<double> h(H, 0), c(H, 0);
    std::vector<std::vector<double>> out;
    for (const auto& x : seq) {
      std::vector<double> g(4 * H);
      for (size_t r = 0; r < 4 * H; ++r) {
        double a = bih->data[r] + bhh->data[r];
        for (size_t i = 0; i < in; ++i) a += wih->data[r * in + i] * x[i];
        for (size_t i = 0; i < H; ++i) a += whh->data[r * H + i] * h[i];
        g[r] = a;
      }
      for (size_t j = 0; j < H; ++j) {
        c[j] = sig(g[H + j]) * c[j] + sig(g[j]) * std::tanh(g[2 * H + j]);
        h[j] = sig(g[3 * H + j]) * std::tanh(c[j]);
      }
      out.push_back(h);
    }
    seq = out;
  }
  const BundleTensor* w = b.Find("fc0.weight");
  const BundleTensor* bias = b.Find("fc0.bias");
  std::vector<double> z(static_cast<size_t>(v));
  double mx = -1e300;
  for (size_t r = 0; r < z.size(); ++r) {
    z[r] = bias->data[r];
    for (size_t i = 0; i < H; ++i) z[r] += w->data[r * H + i] * seq.back()[i];
    mx = std::max(mx, z[r]);
  }
  double sum = 0;
  for (double x : z) sum += std::exp(x - mx);
  std::vector<double> out;
  for (double x : z) out.push_back(-(x - mx - std::log(sum)));
  return out;
}

TEST(DeepLogScorer, MatchesReferenceForwardPass) {
  for (int64_t layers : {1, 2, 3}) {
    Spec s;
    s.layers = layers;
    Bundle b = MakeBundle(s, 7 + static_cast<uint32_t>(layers));
    auto scorer = DeepLogScorer::FromBundle(b);
    ASSERT_TRUE(scorer.ok()) << scorer.status().message();
    DeepLogWorkspace ws;
    std::mt19937 rng(1);
    std::uniform_int_distribution<int64_t> sym(0, scorer->vocab_size() - 1);
    for (int trial = 0; trial < 30; ++trial) {
      std::vector<int64_t> window(static_cast<size_t>(s.window));
      for (auto& x : window) x = sym(rng);
      const float* got = scorer->Surprise(window.data(), &ws);
      std::vector<double> want = Reference(b, s, window);
      for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
    }
  }
}

TEST(DeepLogScorer, CachedAndUncachedAgree) {
  Spec s;
  Bundle b = MakeBundle(s, 3);
  auto scorer = DeepLogScorer::FromBundle(b);
  ASSERT_TRUE(scorer.ok());
  DeepLogWorkspace cached, uncached;
  uncached.max_cached = 0;
  std::vector<int64_t> w = {0, 0, 3, 4};
  std::vector<float> first(scorer->Surprise(w.data(), &cached),
                           scorer->Surprise(w.data(), &cached) + scorer->vocab_size());
  const float* again = scorer->Surprise(w.data(), &cached);
  const float* plain = scorer->Surprise(w.data(), &uncached);
  for (int64_t i = 0; i < scorer->vocab_size(); ++i) {
    EXPECT_EQ(first[static_cast<size_t>(i)], again[i]);
    EXPECT_EQ(first[static_cast<size_t>(i)], plain[i]);
  }
  EXPECT_GE(cached.cache_hits, 1u);
  EXPECT_EQ(uncached.cache_hits, 0u);
}

TEST(DeepLogScorer, JudgesByRankAndFloor) {
  Spec s;
  s.top_g = 2;
  s.threshold = 2.0;
  auto scorer = DeepLogScorer::FromBundle(MakeBundle(s, 5));
  ASSERT_TRUE(scorer.ok());
  // Symbols: start, end, unknown, E1..E5. Surprises chosen by hand.
  std::vector<float> sp = {9, 1.5f, 0.1f, 0.5f, 2.5f, 3.0f, 8, 9};
  // E1 (symbol 3): rank 1 (only unknown is more probable), surprise 0.5 <= 2: expected.
  SymbolVerdict e1 = scorer->Judge(sp.data(), 3);
  EXPECT_TRUE(e1.expected);
  EXPECT_EQ(e1.rank, 1u);
  EXPECT_NEAR(e1.probability, std::exp(-0.5f), 1e-7);
  // The end (symbol 1): rank 2 >= g: outside the top g whatever its probability.
  SymbolVerdict end = scorer->Judge(sp.data(), KeyVocabulary::kEnd);
  EXPECT_FALSE(end.expected);
  EXPECT_EQ(end.score, kDeepLogScoreCap);
  // The unknown symbol is never expected, even as the most probable.
  SymbolVerdict unk = scorer->Judge(sp.data(), KeyVocabulary::kUnknown);
  EXPECT_FALSE(unk.expected);
  EXPECT_EQ(unk.probability, 0.0f);
  // The top 2 are unknown and E1; unknown is not named, E1 passes the floor.
  ASSERT_EQ(e1.top.size(), 1u);
  EXPECT_EQ(e1.top[0].symbol, 3);
  EXPECT_TRUE(e1.passes[0]);
  // With g = 4, E2 (surprise 2.5, rank 3) is in the top g but below the floor.
  s.top_g = 4;
  auto wide = DeepLogScorer::FromBundle(MakeBundle(s, 5));
  ASSERT_TRUE(wide.ok());
  SymbolVerdict e2 = wide->Judge(sp.data(), 4);
  EXPECT_EQ(e2.rank, 3u);
  EXPECT_FALSE(e2.expected);
  EXPECT_NEAR(e2.score, 2.5f, 1e-6);
  ASSERT_EQ(e2.top.size(), 3u);  // unknown left out of E1, end, E2
  EXPECT_EQ(e2.top[2].symbol, 4);
  EXPECT_FALSE(e2.passes[2]);
  EXPECT_TRUE(e2.passes[1]);  // the end: 1.5 <= 2
}

TEST(DeepLogScorer, SessionPadsStartAndSlidesWindow) {
  Spec s;
  Bundle b = MakeBundle(s, 11);
  auto scorer = DeepLogScorer::FromBundle(b);
  ASSERT_TRUE(scorer.ok());
  DeepLogWorkspace ws;
  DeepLogSession session(*scorer);
  const std::vector<std::string> keys = {"E2", "E5", "nope", "E1", "E3", "E4"};
  std::vector<int64_t> encoded(static_cast<size_t>(s.window), KeyVocabulary::kStart);
  for (const auto& k : keys) {
    std::vector<int64_t> window(encoded.end() - s.window, encoded.end());
    const int64_t sym = scorer->vocab().Symbol(k);
    SymbolVerdict got = session.Add(*scorer, k, &ws);
    SymbolVerdict want = scorer->Judge(scorer->Surprise(window.data(), &ws), sym);
    EXPECT_EQ(got.symbol, sym);
    EXPECT_EQ(got.expected, want.expected);
    EXPECT_EQ(got.probability, want.probability);
    std::vector<double> ref = Reference(b, s, window);
    if (sym != KeyVocabulary::kUnknown) {
      EXPECT_NEAR(got.probability, std::exp(-ref[static_cast<size_t>(sym)]), 1e-5);
    }
    encoded.push_back(sym);
  }
  EXPECT_EQ(session.keys(), keys.size());
  SymbolVerdict end = session.End(*scorer, &ws);
  EXPECT_EQ(end.symbol, KeyVocabulary::kEnd);
  std::vector<int64_t> last(encoded.end() - s.window, encoded.end());
  EXPECT_NEAR(end.probability, std::exp(-Reference(b, s, last)[KeyVocabulary::kEnd]), 1e-5);
  // "nope" is not in the vocabulary: the unknown symbol, never expected.
  DeepLogSession other(*scorer);
  EXPECT_FALSE(other.Add(*scorer, "nope", &ws).expected);
}

TEST(DeepLogScorer, RefusesBadBundles) {
  Spec s;
  Bundle missing = MakeBundle(s, 1);
  missing.tensors.pop_back();  // fc0.bias
  auto r = DeepLogScorer::FromBundle(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("fc0.bias"), std::string::npos);
  Bundle shape = MakeBundle(s, 1);
  shape.tensors[0].shape = {1, 1};
  r = DeepLogScorer::FromBundle(shape);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("lstm.weight_ih_l0"), std::string::npos);
  Bundle not_deeplog = MakeBundle(s, 1);
  not_deeplog.metadata["model"]["type"] = "lstm";
  EXPECT_FALSE(DeepLogScorer::FromBundle(not_deeplog).ok());
  Bundle no_threshold = MakeBundle(s, 1);
  no_threshold.metadata.erase("score");
  r = DeepLogScorer::FromBundle(no_threshold);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("score"), std::string::npos);
  Bundle layout = MakeBundle(s, 1);
  layout.metadata["model"]["vocabulary"]["end"] = 5;
  EXPECT_FALSE(DeepLogScorer::FromBundle(layout).ok());
}

}  // namespace
}  // namespace vigil
