// The DeepLog network (Du et al., CCS 2017): next-key prediction over log-key sessions (LibTorch),
// and its conversion to and from bundle tensors.
//
// The input is a window of `window` symbols (data/sessions.h: start, end, unknown, then the keys
// of the vocabulary), each one-hot over the vocabulary; `lstm_layers` LSTM layers of
// `lstm_hidden` units run over it in order, and one linear layer maps the last step's hidden state
// to logits over the vocabulary: the distribution of the next symbol (a key or the end).
// Tensors, float32, row-major (the layout of the `lstm` family, docs/bundle.md):
//   lstm.weight_ih_lK [4H, in] (in = vocabulary size for K = 0, H after), lstm.weight_hh_lK [4H,
//   H], lstm.bias_ih_lK, lstm.bias_hh_lK [4H] (gate order input, forget, cell, output: PyTorch's),
//   fc0.weight [V, H], fc0.bias [V].
// A one-hot input makes layer 0's input product a column lookup: x W_ih^T = W_ih[:, symbol].
//
// A DeepLogNet is a torch Module: not thread-safe; one owner at a time.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "core/status.h"
#include "data/sessions.h"

namespace vigil {

struct DeepLogSpec {
  std::vector<std::string> keys;  // the vocabulary's keys, in symbol order from kFirstKey
  int64_t window = 10;            // h: symbols before the predicted one
  int64_t top_g = 9;              // g: a symbol among the g most probable is expected
  int64_t lstm_hidden = 64;
  int64_t lstm_layers = 2;
  double dropout = 0;  // training only: between LSTM layers

  int64_t vocab_size() const {
    return KeyVocabulary::kFirstKey + static_cast<int64_t>(keys.size());
  }
  Status Validate() const;
  // {"type": "deeplog", "window", "top_g", "vocabulary": {"keys", "start", "end", "unknown",
  //  "first_key"}, "input_dim", "num_classes", "lstm": {input, hidden, layers}, "layers": [fc0]}
  nlohmann::json ToJson() const;
  static Result<DeepLogSpec> FromJson(const nlohmann::json& j);
};

class DeepLogNetImpl : public torch::nn::Module {
 public:
  explicit DeepLogNetImpl(const DeepLogSpec& spec);

  // windows: [B, window] int64 symbols -> logits [B, vocab].
  torch::Tensor forward(const torch::Tensor& windows);

  const DeepLogSpec& spec() const { return spec_; }
  std::vector<BundleTensor> ExportTensors();
  Status ImportTensors(const Bundle& bundle);

 private:
  DeepLogSpec spec_;
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(DeepLogNet);

}  // namespace vigil
