#include "infer/scorer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/schema_json.h"
#include "infer/kernels.h"

namespace vigil {
namespace {

bool ParseActivation(const std::string& name, Activation* a) {
  static const std::pair<const char*, Activation> kNames[] = {
      {"none", Activation::kNone},
      {"relu", Activation::kRelu},
      {"tanh", Activation::kTanh},
      {"sigmoid", Activation::kSigmoid},
      {"leaky_relu", Activation::kLeakyRelu},
      {"elu", Activation::kElu}};
  for (const auto& [n, v] : kNames) {
    if (name == n) return *a = v, true;
  }
  return false;
}

void Activate(Activation a, float* x, size_t n) {
  switch (a) {
    case Activation::kNone:
      return;
    case Activation::kRelu:
      for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.0f;
      return;
    case Activation::kTanh:
      for (size_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      return;
    case Activation::kSigmoid:
      for (size_t i = 0; i < n; ++i) x[i] = Sigmoid(x[i]);
      return;
    case Activation::kLeakyRelu:
      for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.01f * x[i];
      return;
    case Activation::kElu:
      for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : std::expm1(x[i]);
      return;
  }
}

// Derivative of the activation at pre-activation p.
float ActivationGrad(Activation a, float p) {
  switch (a) {
    case Activation::kNone:
      return 1;
    case Activation::kRelu:
      return p > 0 ? 1.0f : 0.0f;
    case Activation::kTanh: {
      float t = std::tanh(p);
      return 1 - t * t;
    }
    case Activation::kSigmoid: {
      float s = Sigmoid(p);
      return s * (1 - s);
    }
    case Activation::kLeakyRelu:
      return p > 0 ? 1.0f : 0.01f;
    case Activation::kElu:
      return p > 0 ? 1.0f : std::exp(p);
  }
  return 1;
}

}  // namespace

Result<Scorer> Scorer::Load(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(Bundle b, ReadBundle(path));
  auto s = FromBundle(std::move(b));
  if (!s.ok()) return s.status().WithContext(path);
  return s;
}

Result<Scorer> Scorer::FromBundle(Bundle bundle) {
  Scorer s;
  s.bundle_ = std::move(bundle);
  VIGIL_RETURN_IF_ERROR(s.Build());
  return s;
}

Status Scorer::Build() {
  const nlohmann::json& md = bundle_.metadata;
  std::vector<std::pair<std::string, nlohmann::json>> layers;
  size_t lstm_hidden = 0, lstm_layers = 0;
  std::string activation;
  // A deeplog bundle scores log-key sessions, not records: say so before looking for a schema.
  if (md.is_object() && md.contains("model") && md.at("model").is_object() &&
      md.at("model").value("type", "") == "deeplog") {
    return Status::Unsupported(
        "model type 'deeplog' scores log-key sessions, not records: give it to vigil-agent as "
        "--log-model (with --log-state), or use vigil eval or vigil predict");
  }
  try {
    VIGIL_ASSIGN_OR_RETURN(schema_, SchemaFromJson(md.at("schema")));
    VIGIL_ASSIGN_OR_RETURN(prep_, Preprocessor::FromJson(md.at("preprocessing")));
    classes_ = md.at("classes").get<std::vector<std::string>>();
    normal_class_ = md.at("normal_class").get<int>();
    threshold_ = md.at("score").at("threshold").get<double>();
    binary_ = md.at("task").get<std::string>() == "binary";
    const nlohmann::json& model = md.at("model");
    model_type_ = model.at("type").get<std::string>();
    input_dim_ = model.at("input_dim").get<size_t>();
    for (const auto& l : model.at("layers"))
      layers.emplace_back(l.at("name").get<std::string>(), l);
    if (model_type_ == "lstm") {
      window_ = model.at("window").get<size_t>();
      lstm_hidden = model.at("lstm").at("hidden").get<size_t>();
      lstm_layers = model.at("lstm").at("layers").get<size_t>();
    }
    name_ = md.contains("name") ? md.at("name").get<std::string>() : model_type_;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("bundle metadata: ") + e.what());
  }
  version_ = bundle_.sha256.substr(0, 12);
  autoencoder_ = model_type_ == "autoencoder" || model_type_ == "mlp-ae";
  if (model_type_ != "mlp" && !autoencoder_ && model_type_ != "lstm") {
    return Status::Unsupported("model type '" + model_type_ + "' is not known to this vigil");
  }
  if (classes_.size() < 2 || normal_class_ < 0 ||
      normal_class_ >= static_cast<int>(classes_.size())) {
    return Status::Corruption("bundle metadata: classes / normal_class out of range");
  }
  if (input_dim_ != prep_.output_dim() || input_dim_ == 0) {
    return Status::Corruption("bundle metadata: model input size does not match preprocessing");
  }
  if (window_ == 0 || (model_type_ == "lstm" && (lstm_hidden == 0 || lstm_layers == 0))) {
    return Status::Corruption("bundle metadata: lstm window, hidden and layers must be positive");
  }
  // Every tensor is checked against the shape the model needs before a pointer is taken.
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
  size_t width = input_dim_;
  for (size_t k = 0; k < lstm_layers; ++k) {
    LstmLayer l;
    l.in = width;
    l.hidden = lstm_hidden;
    const auto h4 = static_cast<int64_t>(4 * lstm_hidden), h = static_cast<int64_t>(lstm_hidden);
    const std::string sfx = "_l" + std::to_string(k);
    const float *b_ih, *b_hh;
    VIGIL_RETURN_IF_ERROR(
        tensor("lstm.weight_ih" + sfx, {h4, static_cast<int64_t>(width)}, &l.w_ih));
    VIGIL_RETURN_IF_ERROR(tensor("lstm.weight_hh" + sfx, {h4, h}, &l.w_hh));
    VIGIL_RETURN_IF_ERROR(tensor("lstm.bias_ih" + sfx, {h4}, &b_ih));
    VIGIL_RETURN_IF_ERROR(tensor("lstm.bias_hh" + sfx, {h4}, &b_hh));
    l.w_hh_t = Transpose(l.w_hh, 4 * lstm_hidden, lstm_hidden);
    l.w_ih_t = Transpose(l.w_ih, 4 * lstm_hidden, width);
    l.bias.resize(4 * lstm_hidden);
    for (size_t i = 0; i < l.bias.size(); ++i) l.bias[i] = b_ih[i] + b_hh[i];
    lstm_.push_back(std::move(l));
    width = lstm_hidden;
  }
  if (layers.empty()) return Status::Corruption("bundle metadata: the model has no layers");
  for (const auto& [name, l] : layers) {
    DenseLayer d;
    std::string act;
    try {
      d.in = l.at("in").get<size_t>();
      d.out = l.at("out").get<size_t>();
      act = l.at("activation").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      return Status::Corruption("bundle metadata: layer '" + name + "': " + e.what());
    }
    if (!ParseActivation(act, &d.act)) {
      return Status::Unsupported("layer '" + name + "': activation '" + act + "' is not known");
    }
    if (d.in != width) {
      return Status::Corruption("bundle metadata: layer '" + name + "' takes " +
                                std::to_string(d.in) + " inputs, the layer before gives " +
                                std::to_string(width));
    }
    const auto out = static_cast<int64_t>(d.out);
    VIGIL_RETURN_IF_ERROR(tensor(name + ".weight", {out, static_cast<int64_t>(d.in)}, &d.w));
    VIGIL_RETURN_IF_ERROR(tensor(name + ".bias", {out}, &d.b));
    d.wt = Transpose(d.w, d.out, d.in);
    width = d.out;
    dense_.push_back(std::move(d));
  }
  const size_t want = autoencoder_ ? input_dim_ : classes_.size();
  if (width != want) {
    return Status::Corruption("bundle metadata: the last layer gives " + std::to_string(width) +
                              " outputs, the model needs " + std::to_string(want));
  }
  if (autoencoder_) {
    const float* scale;
    VIGIL_RETURN_IF_ERROR(tensor("score.error_scale", {static_cast<int64_t>(input_dim_)}, &scale));
    for (size_t i = 0; i < input_dim_; ++i) {
      if (!(scale[i] > 0)) {
        return Status::Corruption("bundle tensor 'score.error_scale' must be positive");
      }
    }
    error_scale_.assign(scale, scale + input_dim_);
  }
  // Input feature -> raw column (numeric, its bins, then one-hot blocks; see Preprocessor).
  for (const auto& f : prep_.numeric()) column_names_.push_back(f.name);
  for (const auto& c : prep_.categorical()) column_names_.push_back(c.name);
  for (size_t k = 0; k < prep_.numeric().size(); ++k) feature_column_.push_back(k);
  for (size_t k = 0; k < prep_.numeric().size(); ++k) {
    size_t bins =
        prep_.numeric()[k].bin_edges.empty() ? 0 : prep_.numeric()[k].bin_edges.size() - 1;
    feature_column_.insert(feature_column_.end(), bins, k);
  }
  for (size_t c = 0; c < prep_.categorical().size(); ++c) {
    feature_column_.insert(feature_column_.end(), prep_.categorical()[c].values.size() + 1,
                           prep_.numeric().size() + c);
  }
  if (feature_column_.size() != input_dim_) {
    return Status::Corruption("bundle metadata: preprocessing layout does not match its size");
  }
  return Status::Ok();
}

void Scorer::Dense(size_t rows, Workspace* ws, bool keep_pre) const {
  if (keep_pre) ws->pre.resize(dense_.size());
  for (size_t k = 0; k < dense_.size(); ++k) {
    const DenseLayer& d = dense_[k];
    ws->b.resize(rows * d.out);
    Affine(ws->a.data(), rows, d.in, d.out, d.wt.data(), d.b, ws->b.data());
    if (keep_pre) ws->pre[k].assign(ws->b.begin(), ws->b.end());
    Activate(d.act, ws->b.data(), ws->b.size());
    std::swap(ws->a, ws->b);
  }
}

void Scorer::Lstm(const float* x, size_t rows, Workspace* ws) const {
  const size_t steps = window_;
  const float* in = x;  // [rows * steps x width], row r*steps+t
  for (size_t k = 0; k < lstm_.size(); ++k) {
    const LstmLayer& l = lstm_[k];
    const size_t h = l.hidden, g4 = 4 * h;
    // Input contributions of every step at once: [rows * steps x 4H].
    ws->gates.resize(rows * steps * g4);
    Affine(in, rows * steps, l.in, g4, l.w_ih_t.data(), l.bias.data(), ws->gates.data());
    ws->h.assign(rows * h, 0.0f);
    ws->c.assign(rows * h, 0.0f);
    const bool last_layer = k + 1 == lstm_.size();
    if (!last_layer) ws->seq_out.resize(rows * steps * h);
    ws->rec.resize(rows * g4);
    for (size_t t = 0; t < steps; ++t) {
      if (t > 0) Affine(ws->h.data(), rows, h, g4, l.w_hh_t.data(), nullptr, ws->rec.data());
      for (size_t r = 0; r < rows; ++r) {
        float* gx = ws->gates.data() + (r * steps + t) * g4;  // this step's, used once
        const float* gr = ws->rec.data() + r * g4;
        float* hr = ws->h.data() + r * h;
        float* cr = ws->c.data() + r * h;
        if (t > 0) {
          for (size_t j = 0; j < g4; ++j) gx[j] += gr[j];
        }
        LstmCell(gx, h, cr, hr);
        if (!last_layer) std::copy(hr, hr + h, ws->seq_out.data() + (r * steps + t) * h);
      }
    }
    if (!last_layer) {
      std::swap(ws->seq_in, ws->seq_out);
      in = ws->seq_in.data();
    }
  }
  ws->a.assign(ws->h.begin(), ws->h.end());
}

void Scorer::Forward(const float* x, size_t rows, Workspace* ws, bool keep_pre) const {
  if (sequence()) {
    Lstm(x, rows, ws);
  } else {
    ws->a.assign(x, x + rows * input_dim_);
  }
  Dense(rows, ws, keep_pre);
}

void Scorer::Finish(const float* x, size_t rows, Workspace* ws, ScoreBatch* out) const {
  out->pred.resize(rows);
  out->score.resize(rows);
  const float* y = ws->a.data();
  if (autoencoder_) {
    out->probs.clear();
    const size_t d = input_dim_;
    for (size_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (size_t i = 0; i < d; ++i) {
        const float e = y[r * d + i] - x[r * d + i];
        sum += e * e / error_scale_[i];
      }
      const float s = static_cast<float>(sum / static_cast<double>(d));
      out->score[r] = s;
      out->pred[r] = s > threshold_ ? 1 - normal_class_ : normal_class_;
    }
    return;
  }
  const size_t nc = classes_.size();
  out->probs.resize(rows * nc);
  for (size_t r = 0; r < rows; ++r) {
    const float* z = y + r * nc;
    float* p = out->probs.data() + r * nc;
    const float mx = *std::max_element(z, z + nc);
    float sum = 0;
    for (size_t c = 0; c < nc; ++c) sum += p[c] = std::exp(z[c] - mx);
    for (size_t c = 0; c < nc; ++c) p[c] /= sum;
    const float s = 1.0f - p[normal_class_];
    out->score[r] = s;
    int best = 0;
    for (size_t c = 1; c < nc; ++c) best = p[c] > p[best] ? static_cast<int>(c) : best;
    if (binary_) best = s > threshold_ ? 1 - normal_class_ : normal_class_;
    out->pred[r] = best;
  }
}

void Scorer::Score(const float* x, size_t rows, Workspace* ws, ScoreBatch* out) const {
  if (rows == 0) {
    out->pred.clear();
    out->score.clear();
    out->probs.clear();
    return;
  }
  Forward(x, rows, ws, false);
  Finish(x, rows, ws, out);
}

std::vector<Reason> Scorer::Top(const std::vector<float>& per_column, size_t top) const {
  std::vector<Reason> all;
  for (size_t c = 0; c < per_column.size(); ++c) {
    if (per_column[c] > 0) all.push_back({c, per_column[c]});
  }
  std::stable_sort(all.begin(), all.end(), [](const Reason& a, const Reason& b) {
    return a.contribution > b.contribution;
  });
  if (all.size() > top) all.resize(top);
  return all;
}

std::vector<Reason> Scorer::Explain(const float* x, size_t top, Workspace* ws) const {
  std::vector<float> per_column(column_names_.size(), 0.0f);
  const size_t d = input_dim_;
  if (autoencoder_) {
    Forward(x, 1, ws, false);
    for (size_t i = 0; i < d; ++i) {
      const float e = ws->a[i] - x[i];
      per_column[feature_column_[i]] += e * e / error_scale_[i] / static_cast<float>(d);
    }
    return Top(per_column, top);
  }
  if (sequence()) {
    // Occlusion: one window per column with that column's last-step inputs zeroed, scored as one
    // batch after the unmodified window.
    const size_t cols = column_names_.size(), w = row_width();
    ws->occluded.resize((cols + 1) * w);
    for (size_t c = 0; c <= cols; ++c) {
      float* dst = ws->occluded.data() + c * w;
      std::copy(x, x + w, dst);
      if (c == 0) continue;
      float* last = dst + (window_ - 1) * d;
      for (size_t i = 0; i < d; ++i) {
        if (feature_column_[i] == c - 1) last[i] = 0;
      }
    }
    ScoreBatch b;
    std::vector<float> occluded = std::move(ws->occluded);
    Score(occluded.data(), cols + 1, ws, &b);
    ws->occluded = std::move(occluded);
    for (size_t c = 0; c < cols; ++c) per_column[c] = b.score[0] - b.score[c + 1];
    return Top(per_column, top);
  }
  // Gradient times input of the attack log-odds L = log((1 - p_n) / p_n), which unlike the
  // probability does not saturate for confident predictions: dL/dz_n = -1, dL/dz_k = p_k / (1 -
  // p_n).
  Forward(x, 1, ws, true);
  const size_t nc = classes_.size();
  std::vector<float> p(nc), g(nc);
  const float mx = *std::max_element(ws->a.begin(), ws->a.begin() + nc);
  float sum = 0;
  for (size_t c = 0; c < nc; ++c) sum += p[c] = std::exp(ws->a[c] - mx);
  for (size_t c = 0; c < nc; ++c) p[c] /= sum;
  // 1 - p_n from the other classes' probabilities keeps precision when p_n is close to 1.
  float rest = 0;
  for (size_t c = 0; c < nc; ++c) rest += static_cast<int>(c) == normal_class_ ? 0 : p[c];
  for (size_t c = 0; c < nc; ++c) {
    g[c] = static_cast<int>(c) == normal_class_ ? -1.0f : (rest > 0 ? p[c] / rest : 0.0f);
  }
  for (size_t k = dense_.size(); k-- > 0;) {
    const DenseLayer& l = dense_[k];
    for (size_t j = 0; j < l.out; ++j) g[j] *= ActivationGrad(l.act, ws->pre[k][j]);
    std::vector<float> gin(l.in);
    GemvT(l.w, l.out, l.in, g.data(), gin.data());
    g = std::move(gin);
  }
  for (size_t i = 0; i < d; ++i) per_column[feature_column_[i]] += g[i] * x[i];
  return Top(per_column, top);
}

}  // namespace vigil
