// DeepLog training (see train/deeplog.h).
#include "train/deeplog.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <numeric>
#include <random>
#include <unordered_map>

#include "core/progress.h"
#include "model/tensor_io.h"
#include "train/scoring.h"

namespace vigil {
namespace {

// The distinct (window, next symbol) pairs of some sessions, each weighted by its count.
struct PairSet {
  torch::Tensor windows;  // [P, h] int64
  torch::Tensor targets;  // [P] int64
  torch::Tensor weights;  // [P] float: occurrences
  int64_t occurrences = 0;
};

PairSet CollectPairs(const std::vector<std::vector<int64_t>>& encoded, int64_t h) {
  std::unordered_map<std::string, size_t> index;
  std::vector<int64_t> windows, targets;
  std::vector<float> weights;
  std::string key(static_cast<size_t>(h + 1) * sizeof(int64_t), '\0');
  PairSet out;
  for (const auto& e : encoded) {
    for (size_t i = static_cast<size_t>(h); i < e.size(); ++i) {
      std::memcpy(key.data(), &e[i - static_cast<size_t>(h)], key.size());
      auto [it, added] = index.emplace(key, targets.size());
      if (added) {
        windows.insert(windows.end(), e.begin() + static_cast<ptrdiff_t>(i) - h,
                       e.begin() + static_cast<ptrdiff_t>(i));
        targets.push_back(e[i]);
        weights.push_back(0);
      }
      weights[it->second] += 1;
      ++out.occurrences;
    }
  }
  const auto p = static_cast<int64_t>(targets.size());
  out.windows = torch::tensor(windows, torch::kInt64).reshape({p, h});
  out.targets = torch::tensor(targets, torch::kInt64);
  out.weights = torch::tensor(weights, torch::kFloat32);
  return out;
}

}  // namespace

Result<TrainSummary> TrainDeepLog(const TrainConfig& given) {
  VIGIL_RETURN_IF_ERROR(given.Validate());
  TrainConfig cfg = given;
  ResolveDefaults(&cfg);
  if (cfg.resume || cfg.stop_after > 0) {
    return Status::Unsupported(
        "--model deeplog trains in a minute and has no checkpoints: --resume and --stop-after "
        "are not supported");
  }
  auto t_start = std::chrono::steady_clock::now();
  // The batches are a few dozen short windows: more threads cost more than they give (two threads
  // trained 16x slower than one on a 2-vCPU machine), so "all cores" means one here.
  SetTorchThreads(cfg.threads == 0 ? 1 : cfg.threads);
  torch::manual_seed(cfg.seed);

  VIGIL_ASSIGN_OR_RETURN(SessionSet all, ReadSessions(cfg.train, cfg.format));
  if (all.size() < 10) return Status::InvalidArgument(cfg.train + ": too few sessions to train on");
  if (all.labels.empty()) all.labels.assign(all.size(), 0);  // format sessions: all normal

  // Random validation split of the sessions (never by position).
  std::vector<size_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(cfg.seed);
  std::shuffle(order.begin(), order.end(), rng);
  const auto n_valid = std::max<size_t>(
      1, static_cast<size_t>(std::llround(cfg.valid_split * static_cast<double>(all.size()))));
  std::vector<size_t> valid_rows(order.begin(), order.begin() + static_cast<ptrdiff_t>(n_valid));
  std::vector<size_t> fit_rows;
  for (size_t i = n_valid; i < order.size(); ++i) {
    if (all.labels[order[i]] == 0) fit_rows.push_back(order[i]);
  }
  std::sort(valid_rows.begin(), valid_rows.end());
  std::sort(fit_rows.begin(), fit_rows.end());
  if (fit_rows.empty())
    return Status::InvalidArgument(cfg.train + ": no normal sessions to train on");

  SessionSet fit;
  for (size_t r : fit_rows) fit.keys.push_back(all.keys[r]);
  KeyVocabulary vocab = KeyVocabulary::Build(fit);
  DeepLogSpec spec;
  spec.keys = vocab.keys();
  spec.window = cfg.window;
  spec.top_g = cfg.top_g;
  spec.lstm_hidden = cfg.lstm_hidden;
  spec.lstm_layers = cfg.lstm_layers;
  spec.dropout = cfg.dropout;
  VIGIL_RETURN_IF_ERROR(spec.Validate());

  auto encode = [&](const std::vector<size_t>& rows, bool normal_only) {
    std::vector<std::vector<int64_t>> out;
    for (size_t r : rows) {
      if (normal_only && all.labels[r] != 0) continue;
      out.push_back(EncodeSession(vocab, all.keys[r], spec.window));
    }
    return out;
  };
  PairSet train_pairs = CollectPairs(encode(fit_rows, true), spec.window);
  PairSet valid_pairs = CollectPairs(encode(valid_rows, true), spec.window);
  const int64_t n_pairs = train_pairs.targets.size(0);
  // The loss is the mean over every window of every session: pairs weighted by their count,
  // normalised by the mean count so a batch's loss estimates it without bias.
  const double mean_weight = static_cast<double>(train_pairs.occurrences) /
                             static_cast<double>(std::max<int64_t>(n_pairs, 1));

  DeepLogNet net(spec);
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (cfg.optimizer == "adam") {
    opt = std::make_unique<torch::optim::Adam>(
        net->parameters(), torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay));
  } else {
    opt = std::make_unique<torch::optim::SGD>(
        net->parameters(),
        torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).weight_decay(cfg.weight_decay));
  }
  auto weighted_loss = [&](const PairSet& set, const torch::Tensor& idx, double norm) {
    torch::Tensor logits = net->forward(set.windows.index_select(0, idx));
    torch::Tensor ce = torch::nn::functional::cross_entropy(
        logits, set.targets.index_select(0, idx),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    return (ce * set.weights.index_select(0, idx)).sum() / norm;
  };
  auto validation_loss = [&]() {
    torch::NoGradGuard no_grad;
    net->eval();
    const int64_t n = valid_pairs.targets.size(0);
    if (n == 0) return 0.0;
    double total = 0;
    for (int64_t b = 0; b < n; b += 4096) {
      torch::Tensor idx = torch::arange(b, std::min(n, b + 4096), torch::kInt64);
      total += weighted_loss(valid_pairs, idx, 1.0).item<double>();
    }
    return total / static_cast<double>(valid_pairs.occurrences);
  };

  const int64_t batches = (n_pairs + cfg.batch_size - 1) / cfg.batch_size;
  Progress progress("train", static_cast<uint64_t>(batches * cfg.epochs), cfg.quiet);
  if (!cfg.quiet) {
    progress.Message(
        "vigil train: deeplog on " + cfg.train + ": " + std::to_string(fit_rows.size()) +
        " normal training sessions (" + std::to_string(train_pairs.occurrences) + " windows, " +
        std::to_string(n_pairs) + " distinct), " + std::to_string(valid_rows.size()) +
        " validation sessions, " + std::to_string(vocab.keys().size()) + " keys, h " +
        std::to_string(spec.window) + ", " + std::to_string(torch::get_num_threads()) + " threads");
  }
  std::vector<torch::Tensor> best = CloneParameters(*net);
  double best_loss = INFINITY;
  int64_t best_epoch = -1, bad_epochs = 0, epochs_run = 0;
  bool stopped_early = false;
  double train_seconds = 0;
  nlohmann::json history = nlohmann::json::array();
  for (int64_t epoch = 0; epoch < cfg.epochs; ++epoch) {
    if (cfg.patience > 0 && bad_epochs >= cfg.patience) {
      stopped_early = true;
      break;
    }
    const double lr = cfg.LearningRateAt(epoch);
    for (auto& group : opt->param_groups()) group.options().set_lr(lr);
    net->train();
    auto t0 = std::chrono::steady_clock::now();
    torch::Tensor perm = torch::randperm(n_pairs, torch::kInt64);
    double loss_sum = 0;
    for (int64_t b = 0; b < batches; ++b) {
      torch::Tensor idx =
          perm.slice(0, b * cfg.batch_size, std::min(n_pairs, (b + 1) * cfg.batch_size));
      opt->zero_grad();
      torch::Tensor loss =
          weighted_loss(train_pairs, idx, mean_weight * static_cast<double>(idx.size(0)));
      loss.backward();
      opt->step();
      loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
      progress.Update(static_cast<uint64_t>(epoch * batches + b + 1),
                      "epoch " + std::to_string(epoch + 1));
    }
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double train_loss = loss_sum / static_cast<double>(std::max<int64_t>(n_pairs, 1));
    const double val_loss = validation_loss();
    if (!std::isfinite(train_loss) || !std::isfinite(val_loss)) {
      return Status::InvalidArgument("training diverged (loss is not finite) at epoch " +
                                     std::to_string(epoch + 1) + "; lower --lr");
    }
    if (val_loss < best_loss) {
      best_loss = val_loss;
      best_epoch = epoch;
      bad_epochs = 0;
      best = CloneParameters(*net);
    } else {
      ++bad_epochs;
    }
    history.push_back(
        {{"epoch", epoch + 1}, {"lr", lr}, {"train_loss", train_loss}, {"valid_loss", val_loss}});
    epochs_run = epoch + 1;
    char line[256];
    std::snprintf(line, sizeof line, "epoch %3lld/%lld  loss %.5f  val_loss %.5f%s  lr %.2e  %s",
                  static_cast<long long>(epoch) + 1, static_cast<long long>(cfg.epochs), train_loss,
                  val_loss, best_epoch == epoch ? " *" : "  ", lr,
                  FormatDuration(progress.ElapsedSeconds()).c_str());
    progress.Message(line);
  }
  progress.Finish();
  RestoreParameters(*net, best);

  // The threshold and the validation report: every validation session, judged in full.
  std::vector<std::vector<int64_t>> valid_encoded = encode(valid_rows, false);
  std::vector<uint8_t> valid_labels;
  for (size_t r : valid_rows) valid_labels.push_back(all.labels[r]);
  const double top_g_only = kDeepLogCap - 0.5;
  std::vector<SessionVerdict> verdicts = JudgeEncoded(*net, vocab, valid_encoded, top_g_only);
  std::vector<float> vscore;
  for (const auto& v : verdicts) vscore.push_back(v.score);
  const bool valid_anomalies =
      std::find(valid_labels.begin(), valid_labels.end(), 1) != valid_labels.end();
  std::string threshold_rule = cfg.threshold;
  double threshold = top_g_only;
  if (cfg.threshold == "f1" && !valid_anomalies) threshold_rule = "far";  // no F1 without anomalies
  if (threshold_rule == "f1") threshold = BestF1Threshold(valid_labels, vscore);
  if (threshold_rule == "far") {
    // The floor's own false alarms, among the normal validation sessions that the top-g and
    // unknown-key rules leave: those rules flag some normal sessions whatever the threshold.
    std::vector<uint8_t> labels;
    std::vector<float> scores;
    for (size_t s = 0; s < vscore.size(); ++s) {
      if (vscore[s] >= kDeepLogCap) continue;
      labels.push_back(valid_labels[s]);
      scores.push_back(vscore[s]);
    }
    threshold = ThresholdForFalseAlarmRate(labels, scores, cfg.target_far);
  }
  // A chosen threshold is a validation session's score: a little above it, so that float rounding
  // (another batch size, another thread count) cannot flip sessions identical to that one. Below
  // the cap, so a symbol outside the top g is always unexpected.
  if (threshold_rule != "topg") threshold += 1e-4;
  if (!std::isfinite(threshold)) threshold = top_g_only;
  threshold = std::min(threshold, top_g_only);
  std::vector<int> vtrue, vpred;
  for (size_t s = 0; s < verdicts.size(); ++s) {
    vtrue.push_back(valid_labels[s]);
    vpred.push_back(verdicts[s].score > threshold ? 1 : 0);
  }
  TrainSummary summary;
  summary.validation = Evaluate({"normal", "anomaly"}, 0, vtrue, vpred, vscore);
  summary.validation.threshold = threshold;
  summary.train_rows = fit_rows.size();
  summary.valid_rows = valid_rows.size();
  summary.epochs_run = epochs_run;
  summary.best_epoch = best_epoch + 1;
  summary.train_seconds = train_seconds;
  summary.samples_per_s = train_seconds > 0 ? static_cast<double>(train_pairs.occurrences) *
                                                  static_cast<double>(epochs_run) / train_seconds
                                            : 0;

  Bundle bundle;
  nlohmann::json& md = bundle.metadata;
  md["kind"] = "vigil-model";
  md["model"] = spec.ToJson();
  md["task"] = "binary";
  md["classes"] = {"normal", "anomaly"};
  md["normal_class"] = 0;
  md["score"] = {{"kind", "key_surprise"},
                 {"threshold", threshold},
                 {"threshold_rule", threshold_rule},
                 {"error_scale", "none"}};
  md["schema"] = {{"format", cfg.format}};
  md["training"] = {{"config", cfg.ToJson()},
                    {"train_rows", summary.train_rows},
                    {"valid_rows", summary.valid_rows},
                    {"train_windows", train_pairs.occurrences},
                    {"distinct_windows", n_pairs},
                    {"epochs_run", summary.epochs_run},
                    {"best_epoch", summary.best_epoch},
                    {"stopped_early", stopped_early},
                    {"train_seconds", summary.train_seconds},
                    {"samples_per_s", summary.samples_per_s},
                    {"threads", torch::get_num_threads()},
                    {"history", history}};
  md["metrics"] = {{"validation", summary.validation.ToJson()}};
  md["provenance"] = TrainingProvenance(cfg);
  bundle.tensors = net->ExportTensors();
  VIGIL_RETURN_IF_ERROR(WriteBundle(cfg.out, bundle));
  summary.total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return summary;
}

}  // namespace vigil
