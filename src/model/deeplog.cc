#include "model/deeplog.h"

#include <set>

#include "model/tensor_io.h"

namespace vigil {

Status DeepLogSpec::Validate() const {
  if (window < 1) return Status::InvalidArgument("deeplog: --window (h) must be at least 1");
  if (top_g < 1) return Status::InvalidArgument("deeplog: --top-g (g) must be at least 1");
  if (lstm_hidden < 1 || lstm_layers < 1)
    return Status::InvalidArgument("deeplog: LSTM hidden size and layers must be positive");
  if (!(dropout >= 0 && dropout < 1)) return Status::InvalidArgument("dropout must be in [0, 1)");
  if (keys.empty()) return Status::InvalidArgument("deeplog: the key vocabulary is empty");
  std::set<std::string> distinct(keys.begin(), keys.end());
  if (distinct.size() != keys.size() || distinct.count("") > 0)
    return Status::InvalidArgument("deeplog: vocabulary keys must be distinct and non-empty");
  return Status::Ok();
}

nlohmann::json DeepLogSpec::ToJson() const {
  const int64_t v = vocab_size();
  return {{"type", "deeplog"},
          {"window", window},
          {"top_g", top_g},
          {"dropout", dropout},
          {"vocabulary",
           {{"keys", keys},
            {"start", KeyVocabulary::kStart},
            {"end", KeyVocabulary::kEnd},
            {"unknown", KeyVocabulary::kUnknown},
            {"first_key", KeyVocabulary::kFirstKey}}},
          {"input_dim", v},
          {"num_classes", v},
          {"lstm", {{"input", v}, {"hidden", lstm_hidden}, {"layers", lstm_layers}}},
          {"layers",
           nlohmann::json::array(
               {{{"name", "fc0"}, {"in", lstm_hidden}, {"out", v}, {"activation", "none"}}})}};
}

Result<DeepLogSpec> DeepLogSpec::FromJson(const nlohmann::json& j) {
  DeepLogSpec s;
  try {
    if (j.at("type").get<std::string>() != "deeplog")
      return Status::Corruption("model spec: type is not deeplog");
    s.window = j.at("window").get<int64_t>();
    s.top_g = j.at("top_g").get<int64_t>();
    const auto& voc = j.at("vocabulary");
    // The symbol layout is fixed in this version; a bundle that says otherwise is not ours.
    if (voc.at("start").get<int64_t>() != KeyVocabulary::kStart ||
        voc.at("end").get<int64_t>() != KeyVocabulary::kEnd ||
        voc.at("unknown").get<int64_t>() != KeyVocabulary::kUnknown ||
        voc.at("first_key").get<int64_t>() != KeyVocabulary::kFirstKey) {
      return Status::Unsupported("model spec: deeplog symbol layout not supported by this vigil");
    }
    s.keys = voc.at("keys").get<std::vector<std::string>>();
    s.lstm_hidden = j.at("lstm").at("hidden").get<int64_t>();
    s.lstm_layers = j.at("lstm").at("layers").get<int64_t>();
    s.dropout = j.value("dropout", 0.0);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("model spec: ") + e.what());
  }
  VIGIL_RETURN_IF_ERROR(s.Validate());
  return s;
}

DeepLogNetImpl::DeepLogNetImpl(const DeepLogSpec& spec) : spec_(spec) {
  auto opts = torch::nn::LSTMOptions(spec_.vocab_size(), spec_.lstm_hidden)
                  .num_layers(spec_.lstm_layers)
                  .batch_first(true)
                  .dropout(spec_.lstm_layers > 1 ? spec_.dropout : 0.0);
  lstm_ = register_module("lstm", torch::nn::LSTM(opts));
  fc_ = register_module("fc0", torch::nn::Linear(spec_.lstm_hidden, spec_.vocab_size()));
}

torch::Tensor DeepLogNetImpl::forward(const torch::Tensor& windows) {
  torch::Tensor x = torch::one_hot(windows, spec_.vocab_size()).to(torch::kFloat32);
  torch::Tensor out = std::get<0>(lstm_->forward(x));  // [B, W, H]
  return fc_->forward(out.select(1, out.size(1) - 1));
}

std::vector<BundleTensor> DeepLogNetImpl::ExportTensors() {
  std::vector<BundleTensor> out;
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    out.push_back(ToBundleTensor(name, t));
  };
  for (const auto& p : lstm_->named_parameters()) add("lstm." + p.key(), p.value());
  add("fc0.weight", fc_->weight);
  add("fc0.bias", fc_->bias);
  return out;
}

Status DeepLogNetImpl::ImportTensors(const Bundle& bundle) {
  auto load = [&](const std::string& name, torch::Tensor& dst) {
    return LoadBundleTensor(bundle, name, dst);
  };
  for (auto& p : lstm_->named_parameters())
    VIGIL_RETURN_IF_ERROR(load("lstm." + p.key(), p.value()));
  VIGIL_RETURN_IF_ERROR(load("fc0.weight", fc_->weight));
  VIGIL_RETURN_IF_ERROR(load("fc0.bias", fc_->bias));
  return Status::Ok();
}

}  // namespace vigil
