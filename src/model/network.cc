#include "model/network.h"

#include <cmath>

#include "model/tensor_io.h"

namespace vigil {
namespace {

const char* const kActivations[] = {"relu", "tanh", "sigmoid", "leaky_relu", "elu", "none"};

// Layer widths of the linear stack, input first.
std::vector<int64_t> LinearDims(const ModelSpec& s) {
  std::vector<int64_t> dims;
  dims.push_back(s.IsSequence() ? s.lstm_hidden : s.input_dim);
  for (int64_t h : s.hidden) dims.push_back(h);
  dims.push_back(s.IsAutoencoder() ? s.input_dim : s.num_classes);
  return dims;
}

}  // namespace

void ModelSpec::ApplyDefaults() {
  if (hidden.empty()) {
    if (type == "mlp") hidden = {256, 256};
    if (type == "autoencoder") hidden = {64, 16, 64};
    if (type == "mlp-ae") hidden = {30, 10, 30};
    // lstm: no hidden layers after the LSTM by default; the head is one linear layer.
  }
  if (type == "mlp-ae" && activation == "relu") activation = "tanh";
}

Status ModelSpec::Validate() const {
  if (type != "mlp" && type != "autoencoder" && type != "mlp-ae" && type != "lstm") {
    return Status::InvalidArgument("unknown model '" + type +
                                   "' (expected mlp, autoencoder, mlp-ae or lstm)");
  }
  bool known = false;
  for (const char* a : kActivations) known |= activation == a;
  if (!known) {
    return Status::InvalidArgument("unknown activation '" + activation +
                                   "' (expected relu, tanh, sigmoid, leaky_relu, elu or none)");
  }
  if (input_dim <= 0) return Status::InvalidArgument("model input dimension must be positive");
  if (!IsAutoencoder() && num_classes < 2) {
    return Status::InvalidArgument("a classifier needs at least 2 classes in the training data");
  }
  for (int64_t h : hidden) {
    if (h <= 0) return Status::InvalidArgument("hidden layer sizes must be positive");
  }
  if (!(dropout >= 0 && dropout < 1)) return Status::InvalidArgument("dropout must be in [0, 1)");
  if (IsSequence() && (window < 1 || lstm_hidden < 1 || lstm_layers < 1)) {
    return Status::InvalidArgument("lstm window, hidden size and layers must be positive");
  }
  return Status::Ok();
}

nlohmann::json ModelSpec::ToJson() const {
  nlohmann::json j = {{"type", type},     {"input_dim", input_dim},   {"num_classes", num_classes},
                      {"hidden", hidden}, {"activation", activation}, {"dropout", dropout}};
  if (IsSequence()) {
    j["window"] = window;
    j["lstm"] = {{"input", input_dim}, {"hidden", lstm_hidden}, {"layers", lstm_layers}};
  }
  nlohmann::json layers = nlohmann::json::array();
  std::vector<int64_t> dims = LinearDims(*this);
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    bool last = i + 2 == dims.size();
    layers.push_back({{"name", "fc" + std::to_string(i)},
                      {"in", dims[i]},
                      {"out", dims[i + 1]},
                      {"activation", last ? "none" : activation}});
  }
  j["layers"] = layers;
  return j;
}

Result<ModelSpec> ModelSpec::FromJson(const nlohmann::json& j) {
  ModelSpec s;
  try {
    s.type = j.at("type").get<std::string>();
    s.input_dim = j.at("input_dim").get<int64_t>();
    s.num_classes = j.at("num_classes").get<int64_t>();
    s.hidden = j.at("hidden").get<std::vector<int64_t>>();
    s.activation = j.at("activation").get<std::string>();
    s.dropout = j.at("dropout").get<double>();
    if (s.IsSequence()) {
      s.window = j.at("window").get<int64_t>();
      s.lstm_hidden = j.at("lstm").at("hidden").get<int64_t>();
      s.lstm_layers = j.at("lstm").at("layers").get<int64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("model spec: ") + e.what());
  }
  VIGIL_RETURN_IF_ERROR(s.Validate());
  return s;
}

NetworkImpl::NetworkImpl(const ModelSpec& spec) : spec_(spec) {
  if (spec_.IsSequence()) {
    auto opts = torch::nn::LSTMOptions(spec_.input_dim, spec_.lstm_hidden)
                    .num_layers(spec_.lstm_layers)
                    .batch_first(true)
                    .dropout(spec_.lstm_layers > 1 ? spec_.dropout : 0.0);
    lstm_ = register_module("lstm", torch::nn::LSTM(opts));
  }
  if (spec_.IsAutoencoder()) {
    error_scale_ = register_buffer("error_scale", torch::ones({spec_.input_dim}));
  }
  fcs_ = register_module("fc", torch::nn::ModuleList());
  std::vector<int64_t> dims = LinearDims(spec_);
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    fcs_->push_back(torch::nn::Linear(dims[i], dims[i + 1]));
  }
}

torch::Tensor NetworkImpl::Activate(torch::Tensor x) const {
  const std::string& a = spec_.activation;
  if (a == "relu") return torch::relu(x);
  if (a == "tanh") return torch::tanh(x);
  if (a == "sigmoid") return torch::sigmoid(x);
  if (a == "leaky_relu") return torch::leaky_relu(x, 0.01);
  if (a == "elu") return torch::elu(x);
  return x;
}

torch::Tensor NetworkImpl::forward(torch::Tensor x) {
  if (spec_.IsSequence()) {
    auto out = std::get<0>(lstm_->forward(x));  // [B, W, H]
    x = out.select(1, out.size(1) - 1);         // last step
  }
  const size_t n = fcs_->size();
  for (size_t i = 0; i < n; ++i) {
    x = fcs_[i]->as<torch::nn::Linear>()->forward(x);
    if (i + 1 < n) {
      x = Activate(x);
      if (spec_.dropout > 0) x = torch::dropout(x, spec_.dropout, is_training());
    }
  }
  return x;
}

torch::Tensor NetworkImpl::ReconstructionError(const torch::Tensor& x) {
  return ((forward(x) - x).pow(2) / error_scale_).mean(1);
}

void NetworkImpl::SetErrorScale(const torch::Tensor& scale) {
  torch::NoGradGuard no_grad;
  error_scale_.copy_(scale);
}

std::vector<BundleTensor> NetworkImpl::ExportTensors() {
  std::vector<BundleTensor> out;
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    out.push_back(ToBundleTensor(name, t));
  };
  if (spec_.IsSequence()) {
    for (const auto& p : lstm_->named_parameters()) add("lstm." + p.key(), p.value());
  }
  for (size_t i = 0; i < fcs_->size(); ++i) {
    auto fc = fcs_[i]->as<torch::nn::Linear>();
    add("fc" + std::to_string(i) + ".weight", fc->weight);
    add("fc" + std::to_string(i) + ".bias", fc->bias);
  }
  if (spec_.IsAutoencoder()) add("score.error_scale", error_scale_);
  return out;
}

Status NetworkImpl::ImportTensors(const Bundle& bundle) {
  auto load = [&](const std::string& name, torch::Tensor& dst) {
    return LoadBundleTensor(bundle, name, dst);
  };
  if (spec_.IsSequence()) {
    for (auto& p : lstm_->named_parameters())
      VIGIL_RETURN_IF_ERROR(load("lstm." + p.key(), p.value()));
  }
  for (size_t i = 0; i < fcs_->size(); ++i) {
    auto fc = fcs_[i]->as<torch::nn::Linear>();
    VIGIL_RETURN_IF_ERROR(load("fc" + std::to_string(i) + ".weight", fc->weight));
    VIGIL_RETURN_IF_ERROR(load("fc" + std::to_string(i) + ".bias", fc->bias));
  }
  if (spec_.IsAutoencoder()) {
    VIGIL_RETURN_IF_ERROR(load("score.error_scale", error_scale_));
    if (!(error_scale_.min().item<float>() > 0)) {
      return Status::Corruption("bundle tensor 'score.error_scale' must be positive");
    }
  }
  return Status::Ok();
}

}  // namespace vigil
