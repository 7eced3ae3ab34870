#include "train/scoring.h"

#include <algorithm>
#include <map>
#include <thread>

#include "data/schema_json.h"
#include "features/sequence.h"
#include "train/deeplog.h"

namespace vigil {

void SetTorchThreads(int threads) {
  torch::set_num_threads(
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

Result<LoadedModel> LoadModel(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(Bundle b, ReadBundle(path));
  auto m = ModelFromBundle(std::move(b));
  if (!m.ok()) return m.status().WithContext(path);
  return m;
}

Result<LoadedModel> ModelFromBundle(Bundle bundle) {
  LoadedModel m;
  const nlohmann::json& md = bundle.metadata;
  if (IsDeepLogBundle(bundle)) {
    return Status::Unsupported(
        "model type 'deeplog' scores log-key sessions, not records: use vigil eval or vigil "
        "predict");
  }
  try {
    VIGIL_ASSIGN_OR_RETURN(m.schema, SchemaFromJson(md.at("schema")));
    VIGIL_ASSIGN_OR_RETURN(m.prep, Preprocessor::FromJson(md.at("preprocessing")));
    VIGIL_ASSIGN_OR_RETURN(m.spec, ModelSpec::FromJson(md.at("model")));
    m.classes = md.at("classes").get<std::vector<std::string>>();
    m.normal_class = md.at("normal_class").get<int>();
    m.threshold = md.at("score").at("threshold").get<double>();
    m.task = md.at("task").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("bundle metadata: ") + e.what());
  }
  if (m.normal_class < 0 || m.normal_class >= static_cast<int>(m.classes.size())) {
    return Status::Corruption("bundle metadata: normal_class out of range");
  }
  if (static_cast<size_t>(m.spec.input_dim) != m.prep.output_dim()) {
    return Status::Corruption("bundle metadata: model input size does not match preprocessing");
  }
  m.net = Network(m.spec);
  VIGIL_RETURN_IF_ERROR(m.net->ImportTensors(bundle));
  m.net->eval();
  m.bundle = std::move(bundle);
  return m;
}

Result<ModelInputs> PrepareInputs(const Preprocessor& prep, const ModelSpec& spec, const Table& t) {
  std::vector<float> dense;
  VIGIL_RETURN_IF_ERROR(prep.Transform(t, &dense));
  ModelInputs in;
  const auto rows = static_cast<int64_t>(t.rows);
  const auto dim = static_cast<int64_t>(prep.output_dim());
  in.x = torch::from_blob(dense.data(), {rows, dim}, torch::kFloat32).clone();
  if (spec.IsSequence()) {
    VIGIL_ASSIGN_OR_RETURN(std::vector<int64_t> w, BuildWindows(t, spec.window));
    in.windows = torch::from_blob(w.data(), {rows, spec.window}, torch::kInt64).clone();
    // Row 0 of the padded matrix is all zeros; window index -1 maps to it.
    in.x = torch::cat({torch::zeros({1, dim}), in.x}, 0);
  }
  return in;
}

torch::Tensor GatherBatch(const ModelInputs& in, const torch::Tensor& idx) {
  if (!in.windows.defined()) return in.x.index_select(0, idx);
  torch::Tensor w = in.windows.index_select(0, idx) + 1;  // [B, W], 0 = padding row
  return in.x.index_select(0, w.reshape({-1})).reshape({w.size(0), w.size(1), in.x.size(1)});
}

ScoreOutput ScoreInputs(NetworkImpl& net, const ModelInputs& in, int normal_class,
                        const std::string& task, double threshold, int64_t batch) {
  torch::NoGradGuard no_grad;
  net.eval();
  const int64_t rows = in.windows.defined() ? in.windows.size(0) : in.x.size(0);
  batch = std::max<int64_t>(1, batch);
  const bool ae = net.spec().IsAutoencoder();
  ScoreOutput out;
  out.pred.reserve(static_cast<size_t>(rows));
  out.attack_score.reserve(static_cast<size_t>(rows));
  for (int64_t b = 0; b < rows; b += batch) {
    torch::Tensor idx = torch::arange(b, std::min(rows, b + batch), torch::kInt64);
    torch::Tensor xb = GatherBatch(in, idx);
    if (ae) {
      torch::Tensor err = net.ReconstructionError(xb).contiguous();
      const float* e = err.data_ptr<float>();
      for (int64_t i = 0; i < err.size(0); ++i) {
        out.attack_score.push_back(e[i]);
        out.pred.push_back(BinaryPrediction(e[i], threshold, normal_class));
      }
      continue;
    }
    torch::Tensor p = torch::softmax(net.forward(xb), 1).contiguous();
    const int64_t c = p.size(1);
    const float* pp = p.data_ptr<float>();
    for (int64_t i = 0; i < p.size(0); ++i) {
      const float* row = pp + i * c;
      float score = 1.0f - row[normal_class];
      out.attack_score.push_back(score);
      int best = 0;
      for (int k = 1; k < c; ++k) best = row[k] > row[best] ? k : best;
      if (task == "binary") best = BinaryPrediction(score, threshold, normal_class);
      out.pred.push_back(best);
      out.probs.insert(out.probs.end(), row, row + c);
    }
  }
  return out;
}

Result<ScoreOutput> ScoreTable(LoadedModel& m, const Table& t, int64_t batch) {
  VIGIL_ASSIGN_OR_RETURN(ModelInputs in, PrepareInputs(m.prep, m.spec, t));
  return ScoreInputs(*m.net, in, m.normal_class, m.task, m.threshold, batch);
}

}  // namespace vigil

namespace vigil {

Result<EvalReport> EvaluateTable(LoadedModel& m, const Table& t) {
  if (!t.has_target())
    return Status::InvalidArgument(t.source_path +
                                   ": no label or class column to evaluate against");
  VIGIL_ASSIGN_OR_RETURN(ScoreOutput scores, ScoreTable(m, t));
  std::vector<std::string> classes = m.classes;
  std::map<std::string, int> index;
  for (size_t i = 0; i < classes.size(); ++i) index[classes[i]] = static_cast<int>(i);
  std::vector<int> truth;
  truth.reserve(t.rows);
  for (size_t r = 0; r < t.rows; ++r) {
    if (m.task == "binary") {
      truth.push_back(t.labels[r] ? 1 - m.normal_class : m.normal_class);
      continue;
    }
    auto it = index.find(t.classes[r]);
    if (it == index.end()) {
      it = index.emplace(t.classes[r], static_cast<int>(classes.size())).first;
      classes.push_back(t.classes[r]);
    }
    truth.push_back(it->second);
  }
  EvalReport report = Evaluate(classes, m.normal_class, truth, scores.pred, scores.attack_score);
  report.threshold = m.threshold;
  return report;
}

}  // namespace vigil
