// Scorer: the detection plane's inference engine. It loads a model bundle and scores preprocessed
// records with the same forward pass as the training plane, for every model family (mlp,
// autoencoder, mlp-ae, lstm), without LibTorch: dense layers and LSTM gates are vectorised loops
// (infer/kernels.h, compiled for AVX2 and for baseline CPUs), activations and softmax plain loops. docs/bundle.md is the contract it implements:
//   classifiers:  probabilities = softmax(logits); score = 1 - P(normal class); a binary model
//                 predicts attack when score > threshold, a multiclass model the most probable class.
//   autoencoders: score = mean over features of (reconstruction - input)^2 / error_scale;
//                 attack when score > threshold.
//   lstm:         the input of a record is its window of `window` preprocessed records of the same
//                 source, oldest first (all-zero rows before the source's first record).
//
// Explanations (Explain) say which raw columns drove a record's score, computed only when asked
// (for alerts): autoencoders split the score into per-feature reconstruction error; mlp
// classifiers use gradient times input of the attack log-odds log((1 - p_normal) / p_normal) (an
// exact backward pass through the layers; unlike the probability it does not vanish for confident
// predictions); lstm classifiers use occlusion (the drop in score when a column's inputs at the last
// step are set to 0, the training mean). Input features are grouped by the raw column they come
// from (a one-hot block or a numeric column and its bins are one column).
//
// A Scorer is immutable once loaded and safe to share between threads; each thread passes its own
// Workspace (scratch buffers, reused across calls so steady-state scoring does not allocate).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "core/status.h"
#include "data/table.h"
#include "features/preprocess.h"

namespace vigil {

enum class Activation { kNone, kRelu, kTanh, kSigmoid, kLeakyRelu, kElu };

// One linear layer y = act(x W^T + b); w and b point into the bundle's tensors.
struct DenseLayer {
  size_t in = 0, out = 0;
  Activation act = Activation::kNone;
  const float* w = nullptr;  // [out x in], row-major
  const float* b = nullptr;  // [out]
  std::vector<float> wt;     // W transposed [in x out], what the kernels use
};

struct LstmLayer {
  size_t in = 0, hidden = 0;
  const float* w_ih = nullptr;  // [4H x in]; gate order input, forget, cell, output
  const float* w_hh = nullptr;  // [4H x H]
  std::vector<float> w_ih_t;    // transposed [in x 4H]
  std::vector<float> w_hh_t;    // transposed [H x 4H]
  std::vector<float> bias;      // b_ih + b_hh [4H]
};

// Scratch space of one scoring thread.
struct Workspace {
  std::vector<float> a, b, seq_in, seq_out, gates, rec, h, c, occluded;
  std::vector<std::vector<float>> pre;  // per-layer pre-activations (Explain)
};

struct ScoreBatch {
  std::vector<int> pred;     // class index per row
  std::vector<float> score;  // attack score per row
  std::vector<float> probs;  // [rows x classes] for classifiers, empty for autoencoders
};

// One raw column's share of a record's score.
struct Reason {
  size_t column = 0;  // index into Scorer::column_names()
  float contribution = 0;
};

class Scorer {
 public:
  static Result<Scorer> Load(const std::string& path);
  static Result<Scorer> FromBundle(Bundle bundle);

  Scorer(Scorer&&) = default;
  Scorer& operator=(Scorer&&) = default;

  const Bundle& bundle() const { return bundle_; }
  const Schema& schema() const { return schema_; }
  const Preprocessor& preprocessor() const { return prep_; }
  const std::vector<std::string>& classes() const { return classes_; }
  int normal_class() const { return normal_class_; }
  double threshold() const { return threshold_; }
  void set_threshold(double t) { threshold_ = t; }
  bool binary() const { return binary_; }
  bool autoencoder() const { return autoencoder_; }
  bool sequence() const { return !lstm_.empty(); }
  const std::string& model_type() const { return model_type_; }
  size_t input_dim() const { return input_dim_; }
  // Records per input window: 1, or the lstm window.
  size_t window() const { return window_; }
  // Floats per scored row: input_dim() * window().
  size_t row_width() const { return input_dim_ * window_; }
  // Name (metadata "name", else "<type>") and version (the first 12 hex digits of the bundle's
  // SHA-256) for alerts and metrics.
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  // Raw columns that explanations refer to: the numeric columns, then the categorical ones.
  const std::vector<std::string>& column_names() const { return column_names_; }

  // Scores `rows` rows of row_width() floats each. `out` is overwritten.
  void Score(const float* x, size_t rows, Workspace* ws, ScoreBatch* out) const;

  // The `top` raw columns that contributed most to the attack score of one row (row_width()
  // floats), largest contribution first; only columns with a positive contribution are listed.
  std::vector<Reason> Explain(const float* x, size_t top, Workspace* ws) const;

 private:
  Scorer() = default;
  Status Build();
  // The dense stack on `rows` inputs in ws->a; result left in ws->a. Records pre-activations in
  // ws->pre when keep_pre.
  void Dense(size_t rows, Workspace* ws, bool keep_pre) const;
  // The lstm on `rows` windows; the last step's hidden state of the top layer in ws->a.
  void Lstm(const float* x, size_t rows, Workspace* ws) const;
  void Forward(const float* x, size_t rows, Workspace* ws, bool keep_pre) const;
  void Finish(const float* x, size_t rows, Workspace* ws, ScoreBatch* out) const;
  std::vector<Reason> Top(const std::vector<float>& per_column, size_t top) const;

  Bundle bundle_;
  Schema schema_;
  Preprocessor prep_;
  std::vector<std::string> classes_;
  int normal_class_ = 0;
  double threshold_ = 0.5;
  bool binary_ = true;
  bool autoencoder_ = false;
  std::string model_type_, name_, version_;
  size_t input_dim_ = 0, window_ = 1;
  std::vector<DenseLayer> dense_;
  std::vector<LstmLayer> lstm_;
  std::vector<float> inv_error_scale_;  // autoencoders: 1 / error_scale
  std::vector<float> error_scale_;
  std::vector<size_t> feature_column_;  // input feature -> raw column
  std::vector<std::string> column_names_;
};

}  // namespace vigil
