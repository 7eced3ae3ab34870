// The neural networks vigil trains (LibTorch), and their conversion to and from bundle tensors.
//
// One Network class covers every model family, described by a ModelSpec:
//   mlp          input -> hidden... -> num_classes logits (softmax classifier; binary = 2 classes)
//   autoencoder  input -> hidden... -> input, trained on normal rows; score = mean squared error
//   mlp-ae       the seed system's "MLP simulated autoencoder": input-30-10-30-input, tanh
//   lstm         [batch, window, input] -> LSTM layers -> last step -> hidden... -> num_classes
// Linear layers are named fc0, fc1, ... and exported as "fcK.weight" [out, in] and "fcK.bias"
// [out]; the LSTM as "lstm.weight_ih_lK" [4H, in], "lstm.weight_hh_lK" [4H, H], "lstm.bias_ih_lK",
// "lstm.bias_hh_lK" with PyTorch's gate order (input, forget, cell, output); autoencoders also
// carry "score.error_scale" [input], the per-feature divisor of the squared reconstruction error.
// docs/bundle.md describes the same layout for the detection plane, which re-implements the forward
// pass.
//
// A Network is a torch Module: not thread-safe; one trainer owns it.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "core/status.h"

namespace vigil {

struct ModelSpec {
  std::string type = "mlp";  // mlp | autoencoder | mlp-ae | lstm
  int64_t input_dim = 0;
  int64_t num_classes = 2;          // classifiers only
  std::vector<int64_t> hidden;      // hidden widths (autoencoders: the whole bottleneck stack)
  std::string activation = "relu";  // relu | tanh | sigmoid | leaky_relu | elu
  double dropout = 0.0;
  int64_t window = 8;  // lstm: records per window
  int64_t lstm_hidden = 64;
  int64_t lstm_layers = 2;

  bool IsAutoencoder() const { return type == "autoencoder" || type == "mlp-ae"; }
  bool IsSequence() const { return type == "lstm"; }
  // Fills defaults that depend on the type (hidden sizes, activation) when unset.
  void ApplyDefaults();
  Status Validate() const;
  nlohmann::json ToJson() const;  // includes "layers": [{name, in, out, activation}]
  static Result<ModelSpec> FromJson(const nlohmann::json& j);
};

class NetworkImpl : public torch::nn::Module {
 public:
  explicit NetworkImpl(const ModelSpec& spec);

  // mlp/lstm: logits [B, C]; autoencoders: reconstruction [B, D].
  torch::Tensor forward(torch::Tensor x);
  // Autoencoders: per-row mean of the squared reconstruction error, each feature's error divided by
  // its scale ("error_scale", all ones unless SetErrorScale() was called) [B].
  torch::Tensor ReconstructionError(const torch::Tensor& x);
  // Autoencoders: per-feature divisors of the squared error [D] (exported as "score.error_scale").
  void SetErrorScale(const torch::Tensor& scale);

  const ModelSpec& spec() const { return spec_; }
  std::vector<BundleTensor> ExportTensors();
  Status ImportTensors(const Bundle& bundle);

 private:
  torch::Tensor Activate(torch::Tensor x) const;

  ModelSpec spec_;
  torch::nn::ModuleList fcs_;
  torch::nn::LSTM lstm_{nullptr};
  torch::Tensor error_scale_;  // autoencoders only
};
TORCH_MODULE(Network);

}  // namespace vigil
