// DeepLog: loading a bundle, judging sessions, evaluating (see train/deeplog.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "train/deeplog.h"

namespace vigil {
namespace {

// Distinct windows of all sessions and the distinct (window, next symbol) pairs to rank.
struct WindowIndex {
  std::vector<int64_t> windows;                     // [W x h]
  std::vector<std::vector<int32_t>> window_pairs;   // per window: pair ids
  std::vector<int64_t> pair_target;                 // per pair
  std::vector<std::vector<int32_t>> session_pairs;  // per session, per judged symbol: pair id
};

WindowIndex IndexWindows(const std::vector<std::vector<int64_t>>& encoded, int64_t h) {
  WindowIndex ix;
  std::unordered_map<std::string, int32_t> window_id;
  std::unordered_map<std::string, int32_t> pair_id;
  std::string key(static_cast<size_t>(h + 1) * sizeof(int64_t), '\0');
  ix.session_pairs.resize(encoded.size());
  for (size_t s = 0; s < encoded.size(); ++s) {
    const std::vector<int64_t>& e = encoded[s];
    for (size_t i = static_cast<size_t>(h); i < e.size(); ++i) {
      std::memcpy(key.data(), &e[i - static_cast<size_t>(h)], key.size());  // window + target
      auto [pit, new_pair] = pair_id.emplace(key, static_cast<int32_t>(ix.pair_target.size()));
      if (new_pair) {
        auto [wit, new_window] = window_id.emplace(key.substr(0, key.size() - sizeof(int64_t)),
                                                   static_cast<int32_t>(ix.window_pairs.size()));
        if (new_window) {
          ix.windows.insert(ix.windows.end(), e.begin() + static_cast<ptrdiff_t>(i) - h,
                            e.begin() + static_cast<ptrdiff_t>(i));
          ix.window_pairs.emplace_back();
        }
        ix.window_pairs[static_cast<size_t>(wit->second)].push_back(pit->second);
        ix.pair_target.push_back(e[i]);
      }
      ix.session_pairs[s].push_back(pit->second);
    }
  }
  return ix;
}

}  // namespace

bool IsDeepLogBundle(const Bundle& bundle) {
  const nlohmann::json& md = bundle.metadata;
  if (!md.is_object() || !md.contains("model") || !md.at("model").is_object()) return false;
  const nlohmann::json& model = md.at("model");
  return model.contains("type") && model.at("type") == "deeplog";
}

Result<DeepLogModel> LoadDeepLog(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(Bundle b, ReadBundle(path));
  auto m = DeepLogFromBundle(std::move(b));
  if (!m.ok()) return m.status().WithContext(path);
  return m;
}

Result<DeepLogModel> DeepLogFromBundle(Bundle bundle) {
  if (!IsDeepLogBundle(bundle)) return Status::InvalidArgument("not a deeplog bundle");
  DeepLogModel m;
  try {
    VIGIL_ASSIGN_OR_RETURN(m.spec, DeepLogSpec::FromJson(bundle.metadata.at("model")));
    m.threshold = bundle.metadata.at("score").at("threshold").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("bundle metadata: ") + e.what());
  }
  VIGIL_ASSIGN_OR_RETURN(m.vocab, KeyVocabulary::FromKeys(m.spec.keys));
  try {
    m.net = DeepLogNet(m.spec);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("deeplog network: ") + e.what());
  }
  VIGIL_RETURN_IF_ERROR(m.net->ImportTensors(bundle));
  m.net->eval();
  m.bundle = std::move(bundle);
  return m;
}

std::vector<SessionVerdict> JudgeEncoded(DeepLogNetImpl& net, const KeyVocabulary& vocab,
                                         const std::vector<std::vector<int64_t>>& encoded,
                                         double threshold, int64_t batch) {
  torch::NoGradGuard no_grad;
  net.eval();
  const int64_t h = net.spec().window;
  const int64_t v = net.spec().vocab_size();
  const int64_t g = std::min(net.spec().top_g, v);
  batch = std::max<int64_t>(1, batch);
  WindowIndex ix = IndexWindows(encoded, h);
  const auto num_windows = static_cast<int64_t>(ix.window_pairs.size());
  std::vector<float> pair_score(ix.pair_target.size(), 0);
  std::vector<float> pair_surprise(ix.pair_target.size(), 0);
  std::vector<int64_t> top(static_cast<size_t>(num_windows * g));  // top-g symbols per window
  std::vector<float> top_surprise(static_cast<size_t>(num_windows * g));  // and their surprise
  for (int64_t b = 0; b < num_windows; b += batch) {
    const int64_t n = std::min(batch, num_windows - b);
    torch::Tensor w = torch::from_blob(ix.windows.data() + b * h, {n, h}, torch::kInt64);
    torch::Tensor surprise = -torch::log_softmax(net.forward(w), 1).contiguous();  // [n, v]
    const float* sp = surprise.data_ptr<float>();
    for (int64_t r = 0; r < n; ++r) {
      const float* row = sp + r * v;
      for (int32_t p : ix.window_pairs[static_cast<size_t>(b + r)]) {
        const int64_t t = ix.pair_target[static_cast<size_t>(p)];
        int64_t rank = 0;  // symbols more probable than the actual one
        for (int64_t k = 0; k < v; ++k) rank += row[k] < row[t] ? 1 : 0;
        const bool outside = t == KeyVocabulary::kUnknown || rank >= g;
        pair_surprise[static_cast<size_t>(p)] = row[t];
        pair_score[static_cast<size_t>(p)] =
            outside ? kDeepLogCap : std::min(row[t], kDeepLogCap - 1);
      }
    }
    auto [values, indices] = torch::topk(-surprise, g, 1);  // most probable first
    values = values.contiguous();
    indices = indices.contiguous();
    for (int64_t i = 0; i < n * g; ++i) {
      top[static_cast<size_t>(b * g + i)] = indices.data_ptr<int64_t>()[i];
      top_surprise[static_cast<size_t>(b * g + i)] = -values.data_ptr<float>()[i];
    }
  }
  // Window of each pair, to find the expected symbols at the first unexpected one.
  std::vector<int32_t> pair_window(ix.pair_target.size(), 0);
  for (size_t w = 0; w < ix.window_pairs.size(); ++w) {
    for (int32_t p : ix.window_pairs[w])
      pair_window[static_cast<size_t>(p)] = static_cast<int32_t>(w);
  }
  std::vector<SessionVerdict> out(encoded.size());
  for (size_t s = 0; s < encoded.size(); ++s) {
    SessionVerdict& verdict = out[s];
    const std::vector<int32_t>& pairs = ix.session_pairs[s];
    for (size_t i = 0; i < pairs.size(); ++i) {
      const auto p = static_cast<size_t>(pairs[i]);
      verdict.score = std::max(verdict.score, pair_score[p]);
      if (verdict.anomaly || !(pair_score[p] > threshold)) continue;
      verdict.anomaly = true;
      verdict.position = i + 1;
      const int64_t target = ix.pair_target[p];
      verdict.key = vocab.Name(target);
      verdict.unknown_key = target == KeyVocabulary::kUnknown;
      verdict.probability = target == KeyVocabulary::kUnknown ? 0 : std::exp(-pair_surprise[p]);
      const size_t first = static_cast<size_t>(pair_window[p]) * static_cast<size_t>(g);
      for (size_t k = first; k < first + static_cast<size_t>(g); ++k) {
        // start and unknown are never a next symbol: not worth naming as expected.
        if (top[k] == KeyVocabulary::kStart || top[k] == KeyVocabulary::kUnknown) continue;
        if (top_surprise[k] <= threshold) verdict.expected.push_back(vocab.Name(top[k]));
      }
    }
  }
  return out;
}

std::vector<SessionVerdict> JudgeSessions(DeepLogModel& m, const SessionSet& sessions,
                                          int64_t batch) {
  std::vector<std::vector<int64_t>> encoded;
  encoded.reserve(sessions.size());
  for (const auto& keys : sessions.keys)
    encoded.push_back(EncodeSession(m.vocab, keys, m.spec.window));
  std::vector<SessionVerdict> out = JudgeEncoded(*m.net, m.vocab, encoded, m.threshold, batch);
  for (size_t s = 0; s < out.size(); ++s) {
    const std::vector<std::string>& keys = sessions.keys[s];
    if (out[s].anomaly && out[s].position <= keys.size()) out[s].key = keys[out[s].position - 1];
  }
  return out;
}

Result<EvalReport> EvaluateSessions(DeepLogModel& m, const SessionSet& sessions) {
  if (!sessions.has_labels())
    return Status::InvalidArgument(sessions.source_path + ": no labels to evaluate against");
  std::vector<SessionVerdict> verdicts = JudgeSessions(m, sessions);
  std::vector<int> truth, pred;
  std::vector<float> scores;
  for (size_t s = 0; s < verdicts.size(); ++s) {
    truth.push_back(sessions.labels[s]);
    pred.push_back(verdicts[s].anomaly ? 1 : 0);
    scores.push_back(verdicts[s].score);
  }
  EvalReport report = Evaluate({"normal", "anomaly"}, 0, truth, pred, scores);
  report.threshold = m.threshold;
  return report;
}

}  // namespace vigil
