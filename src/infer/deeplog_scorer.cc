#include "infer/deeplog_scorer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "infer/kernels.h"

namespace vigil {

bool DeepLogScorer::IsDeepLog(const Bundle& bundle) {
  const nlohmann::json& md = bundle.metadata;
  return md.is_object() && md.contains("model") && md.at("model").is_object() &&
         md.at("model").value("type", "") == "deeplog";
}

Result<DeepLogScorer> DeepLogScorer::Load(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(Bundle b, ReadBundle(path));
  auto s = FromBundle(std::move(b));
  if (!s.ok()) return s.status().WithContext(path);
  return s;
}

Result<DeepLogScorer> DeepLogScorer::FromBundle(Bundle bundle) {
  DeepLogScorer s;
  s.bundle_ = std::move(bundle);
  VIGIL_RETURN_IF_ERROR(s.Build());
  return s;
}

Status DeepLogScorer::Build() {
  if (!IsDeepLog(bundle_)) return Status::InvalidArgument("not a deeplog bundle (model.type)");
  const nlohmann::json& md = bundle_.metadata;
  size_t hidden = 0, layers = 0;
  std::vector<std::string> keys;
  try {
    const nlohmann::json& model = md.at("model");
    window_ = model.at("window").get<int64_t>();
    top_g_ = model.at("top_g").get<int64_t>();
    const nlohmann::json& voc = model.at("vocabulary");
    if (voc.at("start").get<int64_t>() != KeyVocabulary::kStart ||
        voc.at("end").get<int64_t>() != KeyVocabulary::kEnd ||
        voc.at("unknown").get<int64_t>() != KeyVocabulary::kUnknown ||
        voc.at("first_key").get<int64_t>() != KeyVocabulary::kFirstKey) {
      return Status::Unsupported("bundle metadata: model.vocabulary: symbol layout not supported");
    }
    keys = voc.at("keys").get<std::vector<std::string>>();
    hidden = model.at("lstm").at("hidden").get<size_t>();
    layers = model.at("lstm").at("layers").get<size_t>();
    threshold_ = md.at("score").at("threshold").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("bundle metadata: ") + e.what());
  }
  if (window_ < 1 || window_ > 100000 || top_g_ < 1 || hidden == 0 || layers == 0 ||
      hidden > 65536 || layers > 64 || keys.empty()) {
    return Status::Corruption(
        "bundle metadata: model: window, top_g, lstm.hidden, lstm.layers out of range or no keys");
  }
  VIGIL_ASSIGN_OR_RETURN(vocab_, KeyVocabulary::FromKeys(keys));
  version_ = bundle_.sha256.substr(0, 12);
  const auto v = static_cast<size_t>(vocab_.size());
  auto tensor = [&](const std::string& name, std::vector<int64_t> shape,
                    const float** data) -> Status {
    const BundleTensor* t = bundle_.Find(name);
    if (t == nullptr) return Status::Corruption("bundle has no tensor '" + name + "'");
    if (t->shape != shape) {
      return Status::Corruption("bundle tensor '" + name + "' has the wrong shape for the model");
    }
    *data = t->data.data();
    return Status::Ok();
  };
  size_t width = v;
  const auto h4 = static_cast<int64_t>(4 * hidden), h = static_cast<int64_t>(hidden);
  for (size_t k = 0; k < layers; ++k) {
    LstmLayer l;
    l.in = width;
    l.hidden = hidden;
    const std::string sfx = "_l" + std::to_string(k);
    const float *w_ih, *w_hh, *b_ih, *b_hh;
    VIGIL_RETURN_IF_ERROR(tensor("lstm.weight_ih" + sfx, {h4, static_cast<int64_t>(width)}, &w_ih));
    VIGIL_RETURN_IF_ERROR(tensor("lstm.weight_hh" + sfx, {h4, h}, &w_hh));
    VIGIL_RETURN_IF_ERROR(tensor("lstm.bias_ih" + sfx, {h4}, &b_ih));
    VIGIL_RETURN_IF_ERROR(tensor("lstm.bias_hh" + sfx, {h4}, &b_hh));
    l.w_ih_t = Transpose(w_ih, 4 * hidden, width);
    l.w_hh_t = Transpose(w_hh, 4 * hidden, hidden);
    l.bias.resize(4 * hidden);
    for (size_t i = 0; i < l.bias.size(); ++i) l.bias[i] = b_ih[i] + b_hh[i];
    lstm_.push_back(std::move(l));
    width = hidden;
  }
  const float *fc_w, *fc_b;
  VIGIL_RETURN_IF_ERROR(tensor("fc0.weight", {static_cast<int64_t>(v), h}, &fc_w));
  VIGIL_RETURN_IF_ERROR(tensor("fc0.bias", {static_cast<int64_t>(v)}, &fc_b));
  fc_wt_ = Transpose(fc_w, v, hidden);
  fc_b_.assign(fc_b, fc_b + v);
  return Status::Ok();
}

void DeepLogScorer::Forward(const int64_t* window, DeepLogWorkspace* ws, float* surprise) const {
  const auto steps = static_cast<size_t>(window_);
  const auto v = static_cast<size_t>(vocab_.size());
  for (size_t k = 0; k < lstm_.size(); ++k) {
    const LstmLayer& l = lstm_[k];
    const size_t h = l.hidden, g4 = 4 * h;
    ws->h.assign(h, 0.0f);
    ws->c.assign(h, 0.0f);
    ws->gates.resize(g4);
    ws->rec.resize(g4);
    const bool last = k + 1 == lstm_.size();
    std::vector<float> next;
    if (!last) next.resize(steps * h);
    for (size_t t = 0; t < steps; ++t) {
      if (k == 0) {
        // One-hot input: x W_ih^T is the symbol's row of the transposed weight.
        const float* col = l.w_ih_t.data() + static_cast<size_t>(window[t]) * g4;
        for (size_t j = 0; j < g4; ++j) ws->gates[j] = col[j] + l.bias[j];
      } else {
        AffineRow(ws->seq.data() + t * l.in, l.in, g4, l.w_ih_t.data(), l.bias.data(),
                  ws->gates.data());
      }
      if (t > 0) {
        AffineRow(ws->h.data(), h, g4, l.w_hh_t.data(), nullptr, ws->rec.data());
        for (size_t j = 0; j < g4; ++j) ws->gates[j] += ws->rec[j];
      }
      LstmCell(ws->gates.data(), h, ws->c.data(), ws->h.data());
      if (!last)
        std::copy(ws->h.begin(), ws->h.end(), next.begin() + static_cast<ptrdiff_t>(t * h));
    }
    if (!last) ws->seq = std::move(next);
  }
  ws->logits.resize(v);
  AffineRow(ws->h.data(), ws->h.size(), v, fc_wt_.data(), fc_b_.data(), ws->logits.data());
  const float mx = *std::max_element(ws->logits.begin(), ws->logits.end());
  float sum = 0;
  for (size_t i = 0; i < v; ++i) sum += std::exp(ws->logits[i] - mx);
  const float lse = std::log(sum);
  for (size_t i = 0; i < v; ++i) surprise[i] = -(ws->logits[i] - mx - lse);
}

const float* DeepLogScorer::Surprise(const int64_t* window, DeepLogWorkspace* ws) const {
  std::string key(reinterpret_cast<const char*>(window),
                  static_cast<size_t>(window_) * sizeof(int64_t));
  auto it = ws->cache.find(key);
  if (it != ws->cache.end()) {
    ++ws->cache_hits;
    return it->second.data();
  }
  if (ws->cache.size() >= ws->max_cached) ws->cache.clear();
  std::vector<float> row(static_cast<size_t>(vocab_.size()));
  Forward(window, ws, row.data());
  ++ws->forwards;
  if (ws->max_cached == 0) {
    ws->logits = std::move(row);  // no cache: the row lives in the workspace
    return ws->logits.data();
  }
  return ws->cache.emplace(std::move(key), std::move(row)).first->second.data();
}

SymbolVerdict DeepLogScorer::Judge(const float* surprise, int64_t symbol) const {
  const auto v = static_cast<size_t>(vocab_.size());
  const size_t g = std::min(static_cast<size_t>(top_g_), v);
  SymbolVerdict out;
  out.symbol = symbol;
  const float s = surprise[symbol];
  for (size_t k = 0; k < v; ++k) out.rank += surprise[k] < s ? 1 : 0;
  const bool unknown = symbol == KeyVocabulary::kUnknown;
  const bool outside = unknown || out.rank >= g;
  out.probability = unknown ? 0.0f : std::exp(-s);
  out.score = outside ? kDeepLogScoreCap : std::min(s, kDeepLogScoreCap - 1);
  out.expected = !(out.score > threshold_);
  std::vector<size_t> order(v);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(g), order.end(),
                    [&](size_t a, size_t b) {
                      return surprise[a] < surprise[b] || (surprise[a] == surprise[b] && a < b);
                    });
  for (size_t i = 0; i < g; ++i) {
    const auto sym = static_cast<int64_t>(order[i]);
    if (sym == KeyVocabulary::kStart || sym == KeyVocabulary::kUnknown) continue;
    out.top.push_back({sym, std::exp(-surprise[sym])});
    out.passes.push_back(surprise[sym] <= threshold_);
  }
  return out;
}

DeepLogSession::DeepLogSession(const DeepLogScorer& scorer)
    : window_(static_cast<size_t>(scorer.window()), KeyVocabulary::kStart) {}

SymbolVerdict DeepLogSession::Add(const DeepLogScorer& scorer, std::string_view key,
                                  DeepLogWorkspace* ws) {
  const int64_t symbol = scorer.vocab().Symbol(key);
  SymbolVerdict v = scorer.Judge(scorer.Surprise(window_.data(), ws), symbol);
  std::rotate(window_.begin(), window_.begin() + 1, window_.end());
  window_.back() = symbol;
  ++keys_;
  return v;
}

SymbolVerdict DeepLogSession::End(const DeepLogScorer& scorer, DeepLogWorkspace* ws) const {
  return scorer.Judge(scorer.Surprise(window_.data(), ws), KeyVocabulary::kEnd);
}

}  // namespace vigil
