// Loading a bundle into a LibTorch network and scoring tables with it (training plane).
//
// LoadModel reads and verifies a bundle (bundle/), restores the schema, the preprocessing state and
// the network. ScoreTable applies the bundle's preprocessing to a table and returns, per row, the
// predicted class, the attack score and (classifiers) the class probabilities:
//   classifiers:   probabilities = softmax(logits); attack score = 1 - P(normal class);
//                  binary task: attack iff score > threshold (0.5 by default); multiclass: argmax.
//   autoencoders:  score = mean squared reconstruction error; attack iff score > threshold.
// The detection plane (src/infer/) re-implements the same rules without LibTorch.
// A LoadedModel is not thread-safe (the network holds mutable state); use one per thread.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "core/status.h"
#include "data/table.h"
#include "eval/metrics.h"
#include "features/preprocess.h"
#include "model/network.h"

namespace vigil {

struct ScoreOutput {
  std::vector<int> pred;            // class index per row
  std::vector<float> attack_score;  // per row
  std::vector<float> probs;         // row-major [rows x classes]; empty for autoencoders
};

struct LoadedModel {
  Bundle bundle;
  Schema schema;
  Preprocessor prep;
  ModelSpec spec;
  Network net{nullptr};
  std::vector<std::string> classes;
  int normal_class = 0;
  double threshold = 0.5;
  std::string task;
};

// Sets LibTorch's intra-op thread count: `threads`, or every core when it is 0 (LibTorch's own
// default can be fewer).
void SetTorchThreads(int threads);

// Binary decision of a score: the attack class (the other of two) above the threshold.
inline int BinaryPrediction(float score, double threshold, int normal_class) {
  return score > threshold ? 1 - normal_class : normal_class;
}

Result<LoadedModel> LoadModel(const std::string& path);
Result<LoadedModel> ModelFromBundle(Bundle bundle);

// Dense inputs of a table for a network: x [rows, dim]; windows [rows, window] (lstm) or undefined.
struct ModelInputs {
  torch::Tensor x;
  torch::Tensor windows;
};
Result<ModelInputs> PrepareInputs(const Preprocessor& prep, const ModelSpec& spec, const Table& t);
// Rows `idx` of the inputs as a network batch: [B, D] or [B, W, D] for sequence models.
torch::Tensor GatherBatch(const ModelInputs& in, const torch::Tensor& idx);

// Scores in forward passes of `batch` rows (results do not depend on it beyond float rounding).
ScoreOutput ScoreInputs(NetworkImpl& net, const ModelInputs& in, int normal_class,
                        const std::string& task, double threshold, int64_t batch = 4096);
Result<ScoreOutput> ScoreTable(LoadedModel& m, const Table& t, int64_t batch = 4096);

}  // namespace vigil

namespace vigil {

// Scores a labelled table and evaluates the predictions. Binary models compare with the 0/1
// labels; multiclass models with the class names, where classes the model never saw are appended
// to the report's class list (they count as errors).
Result<EvalReport> EvaluateTable(LoadedModel& m, const Table& t);

}  // namespace vigil
