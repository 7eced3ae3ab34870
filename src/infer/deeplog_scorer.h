// DeepLogScorer: the detection plane's DeepLog (no LibTorch). It loads a deeplog bundle
// (model/deeplog.h documents the tensors: an LSTM over one-hot symbols, then fc0) and judges log
// keys one at a time as a session grows, exactly as the training plane judges a whole session
// (train/deeplog_scoring.cc):
//   - a session is [start x h] k1 ... kn [end]; each key and the end are predicted from the h
//     symbols before them;
//   - a symbol is expected when it is not the unknown-key symbol, is among the g most probable
//     (rank = the number of symbols strictly more probable) and its surprise -ln p is at most the
//     bundle's threshold; its score is kDeepLogScoreCap outside the top g or unknown, else the
//     surprise capped one below;
//   - the expected symbols named at a verdict are the top g that pass the threshold, most probable
//     first, without start and unknown.
// The forward pass uses the agent's kernels (infer/kernels.h); a window's first layer input is a
// column of W_ih (one-hot).
//
// A DeepLogScorer is immutable once loaded and safe to share between threads; each thread passes
// its own DeepLogWorkspace, which also caches the distributions of recent windows (sessions of
// one system repeat the same windows: HDFS has a few thousand distinct ones). DeepLogSession is
// one session's state (its last h symbols): plain value, not thread-safe.
// Errors are values: Corruption / Unsupported naming the tensor or field for a bad bundle.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bundle/bundle.h"
#include "core/status.h"
#include "data/sessions.h"
#include "infer/scorer.h"

namespace vigil {

// Score of a symbol outside the top g or unknown (train/deeplog.h's kDeepLogCap).
inline constexpr float kDeepLogScoreCap = 100;

struct DeepLogWorkspace {
  std::vector<float> gates, rec, h, c, seq, logits;
  // Window (symbols as bytes) -> surprise of every symbol; cleared when it holds max_cached.
  std::unordered_map<std::string, std::vector<float>> cache;
  size_t max_cached = 1 << 16;
  uint64_t cache_hits = 0, forwards = 0;
};

struct ExpectedSymbol {
  int64_t symbol = 0;
  float probability = 0;
};

struct SymbolVerdict {
  bool expected = true;
  int64_t symbol = 0;     // the judged symbol (KeyVocabulary::kEnd for the end)
  float probability = 0;  // of the judged symbol (0 for an unknown key)
  float score = 0;        // see above
  size_t rank = 0;        // symbols more probable than it
  // The top g symbols (most probable first, start and unknown left out) and whether each passes
  // the threshold; `expected` symbols of a verdict are those with passes == true.
  std::vector<ExpectedSymbol> top;
  std::vector<bool> passes;
};

class DeepLogScorer {
 public:
  static Result<DeepLogScorer> Load(const std::string& path);
  static Result<DeepLogScorer> FromBundle(Bundle bundle);
  // True when the bundle's metadata says model.type "deeplog".
  static bool IsDeepLog(const Bundle& bundle);

  DeepLogScorer(DeepLogScorer&&) = default;
  DeepLogScorer& operator=(DeepLogScorer&&) = default;

  const Bundle& bundle() const { return bundle_; }
  const KeyVocabulary& vocab() const { return vocab_; }
  int64_t window() const { return window_; }
  int64_t top_g() const { return top_g_; }
  int64_t vocab_size() const { return vocab_.size(); }
  double threshold() const { return threshold_; }
  void set_threshold(double t) { threshold_ = t; }
  const std::string& version() const { return version_; }

  // Surprise (-ln p) of every symbol after `window` (window() symbols, oldest first); the returned
  // pointer (vocab_size() floats) lives in ws until its next use.
  const float* Surprise(const int64_t* window, DeepLogWorkspace* ws) const;
  // Judges `symbol` against a Surprise() row.
  SymbolVerdict Judge(const float* surprise, int64_t symbol) const;

 private:
  DeepLogScorer() = default;
  Status Build();
  void Forward(const int64_t* window, DeepLogWorkspace* ws, float* surprise) const;

  Bundle bundle_;
  KeyVocabulary vocab_;
  int64_t window_ = 10, top_g_ = 9;
  double threshold_ = kDeepLogScoreCap - 0.5;
  std::string version_;
  std::vector<LstmLayer> lstm_;
  std::vector<float> fc_wt_;  // [H x V]
  std::vector<float> fc_b_;   // [V]
};

// One session's running state: the last h symbols (start-padded) and the keys seen.
class DeepLogSession {
 public:
  explicit DeepLogSession(const DeepLogScorer& scorer);
  // Judges the next key (text as in the vocabulary; a key not in it is the unknown symbol) and
  // appends it to the session.
  SymbolVerdict Add(const DeepLogScorer& scorer, std::string_view key, DeepLogWorkspace* ws);
  // Judges the end of the session (the end symbol after the keys so far).
  SymbolVerdict End(const DeepLogScorer& scorer, DeepLogWorkspace* ws) const;
  size_t keys() const { return keys_; }

 private:
  std::vector<int64_t> window_;  // oldest first
  size_t keys_ = 0;
};

}  // namespace vigil
