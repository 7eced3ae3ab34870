#include "train/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <thread>

#include "core/file.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "data/format.h"
#include "data/schema_json.h"
#include "data/split.h"
#include "features/preprocess.h"
#include "model/network.h"
#include "model/tensor_io.h"
#include "train/deeplog.h"
#include "train/distributed.h"
#include "train/scoring.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

// Class names and per-row targets for the task.
struct Targets {
  std::vector<std::string> classes;
  int normal_class = 0;
  std::vector<int64_t> y;  // per row of the full table
};

Result<Targets> MakeTargets(const Table& t, const std::string& task) {
  Targets out;
  if (task == "binary") {
    out.classes = {"normal", "attack"};
    out.y.assign(t.labels.begin(), t.labels.end());
    return out;
  }
  // Multiclass: the normal class first, the others by name.
  std::map<std::string, size_t> normal_counts;
  std::vector<std::string> names;
  for (size_t r = 0; r < t.rows; ++r) {
    if (t.labels[r] == 0) ++normal_counts[t.classes[r]];
    names.push_back(t.classes[r]);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (normal_counts.empty()) return Status::InvalidArgument(t.source_path + ": no normal rows");
  auto normal = std::max_element(normal_counts.begin(), normal_counts.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; })
                    ->first;
  out.classes.push_back(normal);
  for (const auto& n : names) {
    if (n != normal) out.classes.push_back(n);
  }
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < out.classes.size(); ++i) index[out.classes[i]] = static_cast<int64_t>(i);
  out.y.reserve(t.rows);
  for (const auto& c : t.classes) out.y.push_back(index[c]);
  return out;
}

torch::Tensor ToLongTensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kInt64);
}

torch::Tensor ToIndexTensor(const std::vector<size_t>& v) {
  std::vector<int64_t> w(v.begin(), v.end());
  return torch::tensor(w, torch::kInt64);
}

// What the checkpoint directory holds besides the tensors.
struct LoopState {
  int64_t next_epoch = 0;
  int64_t best_epoch = -1;
  double best_loss = INFINITY;
  int64_t bad_epochs = 0;
  double train_seconds = 0;
  nlohmann::json history = nlohmann::json::array();
};

Status AppendLine(const std::string& path, const std::string& line, bool truncate) {
  FILE* f = std::fopen(path.c_str(), truncate ? "w" : "a");
  if (f == nullptr) return Status::IOError(path + ": cannot open: " + std::strerror(errno));
  const bool ok = std::fprintf(f, "%s\n", line.c_str()) > 0;
  if (std::fclose(f) != 0 || !ok) return Status::IOError(path + ": write failed");
  return Status::Ok();
}

std::string ConfigKey(const TrainConfig& c) {
  nlohmann::json j = c.ToJson();
  return Sha256Hex(j.dump());
}

Status SaveCheckpoint(const std::string& dir, const std::string& key, const LoopState& s,
                      Network& net, torch::optim::Optimizer& opt,
                      const std::vector<torch::Tensor>& best) {
  try {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError(dir + ": cannot create checkpoint directory: " + ec.message());
    torch::save(net, dir + "/model.pt.tmp");
    torch::save(opt, dir + "/optim.pt.tmp");
    torch::save(best, dir + "/best.pt.tmp");
    auto gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor rng;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      rng = gen.get_state();
    }
    torch::save(rng, dir + "/rng.pt.tmp");
    for (const char* f : {"model.pt", "optim.pt", "best.pt", "rng.pt"}) {
      fs::rename(dir + "/" + f + ".tmp", dir + "/" + f);
    }
  } catch (const std::exception& e) {
    return Status::IOError(dir + ": cannot write checkpoint: " + e.what());
  }
  nlohmann::json j = {{"config_key", key},          {"next_epoch", s.next_epoch},
                      {"best_epoch", s.best_epoch}, {"best_loss", s.best_loss},
                      {"bad_epochs", s.bad_epochs}, {"train_seconds", s.train_seconds},
                      {"history", s.history}};
  // state.json is written last: it names a complete set of tensor files.
  return WriteFileAtomic(dir + "/state.json", j.dump(1));
}

Status LoadCheckpoint(const std::string& dir, const std::string& key, LoopState* s, Network& net,
                      torch::optim::Optimizer& opt, std::vector<torch::Tensor>* best) {
  auto text = ReadFile(dir + "/state.json");
  if (!text.ok())
    return Status::NotFound(dir + ": no checkpoint to resume from (state.json missing)");
  try {
    auto j = nlohmann::json::parse(*text);
    if (j.at("config_key").get<std::string>() != key) {
      return Status::InvalidArgument(
          dir +
          ": the checkpoint was written by a run with a different configuration; resume "
          "with the same flags and config, or remove the directory to start again");
    }
    s->next_epoch = j.at("next_epoch").get<int64_t>();
    s->best_epoch = j.at("best_epoch").get<int64_t>();
    s->best_loss = j.at("best_loss").is_null() ? INFINITY : j.at("best_loss").get<double>();
    s->bad_epochs = j.at("bad_epochs").get<int64_t>();
    s->train_seconds = j.at("train_seconds").get<double>();
    s->history = j.at("history");
    torch::load(net, dir + "/model.pt");
    torch::load(opt, dir + "/optim.pt");
    best->clear();  // torch::load appends to a vector
    torch::load(*best, dir + "/best.pt");
    torch::Tensor rng;
    torch::load(rng, dir + "/rng.pt");
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  } catch (const std::exception& e) {
    return Status::Corruption(dir + ": cannot read checkpoint: " + e.what());
  }
  return Status::Ok();
}

// Data-parallel runs shuffle with a generator of their own, seeded by (seed, epoch): every rank
// draws the same order whatever its dropout has consumed from the default generator.
torch::Tensor EpochPermutation(int64_t n, uint64_t seed, int64_t epoch) {
  auto gen = at::detail::createCPUGenerator(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  return torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
}

}  // namespace

nlohmann::json TrainingProvenance(const TrainConfig& cfg) {
  auto data_sha = Sha256FileHex(cfg.train);
  return {{"dataset_file", fs::path(cfg.train).filename().string()},
          {"dataset_sha256", data_sha.ok() ? *data_sha : ""},
          {"vigil_version", VIGIL_VERSION},
          {"torch_version", TORCH_VERSION},
          {"created_at", UtcTimestamp()}};
}

Result<TrainSummary> Train(const TrainConfig& given) {
  VIGIL_RETURN_IF_ERROR(given.Validate());
  RendezvousFlags rflags;
  rflags.rank = given.rank;
  rflags.world_size = given.world_size;
  rflags.master = given.master;
  rflags.iface = given.dist_iface;
  rflags.timeout_s = given.dist_timeout;
  rflags.rendezvous_timeout_s = given.rendezvous_timeout;
  VIGIL_ASSIGN_OR_RETURN(Rendezvous rv, ResolveRendezvous(rflags, ProcessEnv()));
  if (rv.distributed() && given.model == "deeplog") {
    return Status::Unsupported(
        "data-parallel training covers mlp, autoencoder, mlp-ae and lstm, not deeplog");
  }
  if (given.model == "deeplog") return TrainDeepLog(given);  // sessions, not tables
  TrainConfig cfg = given;
  ResolveDefaults(&cfg);
  auto t_start = std::chrono::steady_clock::now();
  std::unique_ptr<DataParallel> dp;
  if (rv.distributed()) {
    // Ranks sharing a host share its cores unless --threads says otherwise.
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    SetTorchThreads(cfg.threads > 0 ? cfg.threads : std::max(1, cores / rv.local_world_size));
    VIGIL_ASSIGN_OR_RETURN(dp, DataParallel::Connect(rv, cfg.bucket_kb * 1024));
  } else {
    SetTorchThreads(cfg.threads);
  }
  const int rank = dp ? dp->rank() : 0;
  const int world = dp ? dp->world_size() : 1;
  const bool quiet = cfg.quiet || rank != 0;  // one progress display per job
  torch::manual_seed(cfg.seed);

  // Data.
  VIGIL_ASSIGN_OR_RETURN(Schema schema, MakeSchema(cfg.format, cfg.schema));
  VIGIL_ASSIGN_OR_RETURN(Table table, ReadTable(cfg.train, schema, /*require_target=*/true));
  if (cfg.max_rows > 0 && table.rows > static_cast<size_t>(cfg.max_rows)) {
    std::vector<size_t> first(static_cast<size_t>(cfg.max_rows));
    for (size_t i = 0; i < first.size(); ++i) first[i] = i;
    table = table.Select(first);
  }
  if (table.rows < 10) return Status::InvalidArgument(cfg.train + ": too few rows to train on");
  VIGIL_ASSIGN_OR_RETURN(Targets targets, MakeTargets(table, cfg.task));
  Split split = StratifiedSplit(table, cfg.valid_split, cfg.seed);
  if (split.valid.empty() || split.train.empty()) {
    return Status::InvalidArgument(cfg.train + ": too few rows for a validation split");
  }
  Table train_part = table.Select(split.train);
  PreprocessOptions prep_options;
  prep_options.numeric_bins = static_cast<size_t>(cfg.numeric_bins);
  VIGIL_ASSIGN_OR_RETURN(Preprocessor prep, Preprocessor::Fit(train_part, prep_options));

  ModelSpec spec;
  spec.type = cfg.model;
  spec.input_dim = static_cast<int64_t>(prep.output_dim());
  spec.num_classes = static_cast<int64_t>(targets.classes.size());
  spec.hidden = cfg.hidden;
  spec.activation = cfg.activation;
  spec.dropout = cfg.dropout;
  spec.window = cfg.window;
  spec.lstm_hidden = cfg.lstm_hidden;
  spec.lstm_layers = cfg.lstm_layers;
  spec.ApplyDefaults();
  VIGIL_RETURN_IF_ERROR(spec.Validate());

  // Inputs for every row (the sequence windows need the whole table), indexed by split.
  VIGIL_ASSIGN_OR_RETURN(ModelInputs inputs, PrepareInputs(prep, spec, table));
  torch::Tensor y_all = ToLongTensor(targets.y);
  std::vector<size_t> fit_rows = split.train;
  if (spec.IsAutoencoder()) {
    fit_rows.clear();
    for (size_t r : split.train) {
      if (table.labels[r] == 0) fit_rows.push_back(r);
    }
    if (fit_rows.empty())
      return Status::InvalidArgument(cfg.train + ": no normal rows to train an autoencoder on");
  }
  std::vector<size_t> valid_loss_rows = split.valid;
  if (spec.IsAutoencoder()) {
    valid_loss_rows.clear();
    for (size_t r : split.valid) {
      if (table.labels[r] == 0) valid_loss_rows.push_back(r);
    }
  }
  torch::Tensor fit_idx = ToIndexTensor(fit_rows);
  torch::Tensor valid_loss_idx = ToIndexTensor(valid_loss_rows);

  torch::Tensor class_weight;
  if (!spec.IsAutoencoder() && cfg.class_weights == "balanced") {
    torch::Tensor counts =
        torch::bincount(y_all.index_select(0, fit_idx), {}, spec.num_classes).to(torch::kFloat32);
    class_weight = counts.sum() / (counts.clamp_min(1) * static_cast<double>(spec.num_classes));
  }

  Network net(spec);
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (cfg.optimizer == "adam") {
    opt = std::make_unique<torch::optim::Adam>(
        net->parameters(), torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay));
  } else {
    opt = std::make_unique<torch::optim::SGD>(
        net->parameters(),
        torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).weight_decay(cfg.weight_decay));
  }
  if (dp) {
    VIGIL_RETURN_IF_ERROR(dp->BroadcastParameters(*net));
    dp->AttachGradientHooks(*net);
  }

  auto loss_of = [&](const torch::Tensor& idx) {
    torch::Tensor xb = GatherBatch(inputs, idx);
    if (spec.IsAutoencoder()) return torch::mse_loss(net->forward(xb), xb);
    torch::Tensor yb = y_all.index_select(0, idx);
    auto opts = torch::nn::functional::CrossEntropyFuncOptions();
    if (class_weight.defined()) opts.weight(class_weight);
    return torch::nn::functional::cross_entropy(net->forward(xb), yb, opts);
  };
  // Sum of the per-row validation losses of rows [begin, end).
  auto validation_loss_sum = [&](int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;
    net->eval();
    double total = 0;
    for (int64_t b = begin; b < end; b += 4096) {
      torch::Tensor idx = valid_loss_idx.slice(0, b, std::min(end, b + 4096));
      total += loss_of(idx).item<double>() * static_cast<double>(idx.size(0));
    }
    return total;
  };
  // Data-parallel: each rank takes its share of the rows, and the sums are all-reduced, so every
  // rank sees the same number and takes the same early-stopping decision.
  auto validation_loss = [&]() -> Result<double> {
    const int64_t n = valid_loss_idx.size(0);
    if (n == 0) return 0.0;
    if (!dp) return validation_loss_sum(0, n) / static_cast<double>(n);
    double part = validation_loss_sum(n * rank / world, n * (rank + 1) / world);
    VIGIL_ASSIGN_OR_RETURN(std::vector<double> sum, dp->AllReduceSum({part}));
    return sum[0] / static_cast<double>(n);
  };

  std::string ckpt_dir = cfg.checkpoint.empty() ? cfg.out + ".ckpt" : cfg.checkpoint;
  std::string key = ConfigKey(cfg);
  LoopState state;
  std::vector<torch::Tensor> best = CloneParameters(*net);
  if (cfg.resume) {
    VIGIL_RETURN_IF_ERROR(LoadCheckpoint(ckpt_dir, key, &state, net, *opt, &best));
  }

  const int64_t n_fit = fit_idx.size(0);
  const int64_t batches = (n_fit + cfg.batch_size - 1) / cfg.batch_size;
  Progress progress("train", static_cast<uint64_t>(batches * cfg.epochs), quiet);
  if (!quiet) {
    progress.Message(
        "vigil train: " + cfg.model + " (" + cfg.task + ") on " + cfg.train + ": " +
        std::to_string(n_fit) + " training rows, " + std::to_string(split.valid.size()) +
        " validation rows, " + std::to_string(spec.input_dim) + " features, " +
        std::to_string(torch::get_num_threads()) + " threads" +
        (state.next_epoch > 0 ? ", resuming at epoch " + std::to_string(state.next_epoch + 1)
                              : "") +
        (dp ? ", " + std::to_string(world) + " ranks (" + rv.source + "), global batch " +
                  std::to_string(cfg.batch_size) + ", " + std::to_string(dp->bucket_count()) +
                  " gradient buckets"
            : ""));
  }
  bool stopped_early = false;
  const int64_t first_epoch = state.next_epoch;
  for (int64_t epoch = state.next_epoch; epoch < cfg.epochs; ++epoch) {
    if (cfg.stop_after > 0 && epoch - first_epoch >= cfg.stop_after) {
      progress.Finish();
      TrainSummary paused;
      paused.interrupted = true;
      paused.rank = rank;
      paused.world_size = world;
      paused.epochs_run = state.next_epoch;
      paused.checkpoint_dir = ckpt_dir;
      return paused;
    }
    if (cfg.patience > 0 && state.bad_epochs >= cfg.patience) {
      stopped_early = true;
      break;
    }
    double lr = cfg.LearningRateAt(epoch);
    for (auto& group : opt->param_groups()) group.options().set_lr(lr);
    if (rank != 0) {
      // Dropout masks of its own, seeded per epoch: the checkpoint holds rank 0's generator, and
      // a resumed run must draw what an uninterrupted one would.
      torch::manual_seed(cfg.seed + 7919ULL * static_cast<uint64_t>(rank) +
                         static_cast<uint64_t>(epoch));
    }
    net->train();
    auto t0 = std::chrono::steady_clock::now();
    torch::Tensor perm = fit_idx.index_select(
        0, dp ? EpochPermutation(n_fit, cfg.seed, epoch) : torch::randperm(n_fit, torch::kInt64));
    double loss_sum = 0;
    int64_t seen = 0;
    for (int64_t b = 0; b < batches; ++b) {
      torch::Tensor idx =
          perm.slice(0, b * cfg.batch_size, std::min(n_fit, (b + 1) * cfg.batch_size));
      opt->zero_grad();
      if (dp) {
        // This rank's share of the global batch; its loss is weighted by that share so the
        // all-reduced sum is the global batch's mean gradient.
        const int64_t m = idx.size(0);
        torch::Tensor local = idx.slice(0, m * rank / world, m * (rank + 1) / world);
        const int64_t k = local.size(0);
        if (k > 0) {
          torch::Tensor loss = loss_of(local);
          (loss * (static_cast<double>(k) / static_cast<double>(m))).backward();
          loss_sum += loss.item<double>() * static_cast<double>(k);
          seen += k;
        }
        VIGIL_RETURN_IF_ERROR(dp->FinishGradients());
        opt->step();
      } else {
        torch::Tensor loss = loss_of(idx);
        loss.backward();
        opt->step();
        loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
        seen += idx.size(0);
      }
      progress.Update(
          static_cast<uint64_t>(epoch * batches + b + 1),
          "epoch " + std::to_string(epoch + 1) + " loss " +
              std::to_string(loss_sum / static_cast<double>(std::max<int64_t>(seen, 1))));
    }
    state.train_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dp) {
      VIGIL_ASSIGN_OR_RETURN(std::vector<double> sums,
                             dp->AllReduceSum({loss_sum, static_cast<double>(seen)}));
      loss_sum = sums[0];
      seen = static_cast<int64_t>(sums[1]);
    }
    double train_loss = loss_sum / static_cast<double>(std::max<int64_t>(seen, 1));
    VIGIL_ASSIGN_OR_RETURN(double val_loss, validation_loss());
    if (!std::isfinite(train_loss) || !std::isfinite(val_loss)) {
      return Status::InvalidArgument("training diverged (loss is not finite) at epoch " +
                                     std::to_string(epoch + 1) + "; lower --lr");
    }
    if (val_loss < state.best_loss) {
      state.best_loss = val_loss;
      state.best_epoch = epoch;
      state.bad_epochs = 0;
      best = CloneParameters(*net);
    } else {
      ++state.bad_epochs;
    }
    state.history.push_back(
        {{"epoch", epoch + 1}, {"lr", lr}, {"train_loss", train_loss}, {"valid_loss", val_loss}});
    state.next_epoch = epoch + 1;
    if (rank == 0 && !cfg.history.empty()) {
      nlohmann::json row = state.history.back();
      row["elapsed_s"] = progress.ElapsedSeconds();
      // A fresh run starts the file anew; a resumed one continues it.
      VIGIL_RETURN_IF_ERROR(AppendLine(cfg.history, row.dump(), /*truncate=*/epoch == 0));
    }
    char line[256];
    std::snprintf(line, sizeof line, "epoch %3lld/%lld  loss %.5f  val_loss %.5f%s  lr %.2e  %s",
                  static_cast<long long>(epoch) + 1, static_cast<long long>(cfg.epochs), train_loss,
                  val_loss, state.best_epoch == epoch ? " *" : "  ", lr,
                  FormatDuration(progress.ElapsedSeconds()).c_str());
    progress.Message(line);
    if (rank == 0) VIGIL_RETURN_IF_ERROR(SaveCheckpoint(ckpt_dir, key, state, net, *opt, best));
  }
  progress.Finish();
  RestoreParameters(*net, best);
  std::string weights_sha256;
  if (dp) {
    VIGIL_ASSIGN_OR_RETURN(weights_sha256, dp->CheckIdenticalParameters(*net));
    if (!cfg.quiet) {
      std::fprintf(stderr,
                   "vigil train: rank %d of %d: weights identical on all ranks (sha256 %s)\n", rank,
                   world, weights_sha256.c_str());
    }
    if (rank != 0) {  // rank 0 alone evaluates and writes the bundle
      TrainSummary done;
      done.rank = rank;
      done.world_size = world;
      done.train_rows = static_cast<size_t>(n_fit);
      done.valid_rows = split.valid.size();
      done.epochs_run = state.next_epoch;
      done.best_epoch = state.best_epoch + 1;
      done.train_seconds = state.train_seconds;
      done.weights_sha256 = weights_sha256;
      return done;
    }
  }
  if (spec.IsAutoencoder() && cfg.ae_score == "scaled") {
    // Mean squared error of each feature over the normal training rows; a floor keeps features
    // that are reconstructed almost perfectly from turning tiny deviations into huge scores.
    torch::NoGradGuard no_grad;
    net->eval();
    torch::Tensor sum = torch::zeros({spec.input_dim});
    for (int64_t b = 0; b < n_fit; b += 4096) {
      torch::Tensor xb = GatherBatch(inputs, fit_idx.slice(0, b, std::min(n_fit, b + 4096)));
      sum += (net->forward(xb) - xb).pow(2).sum(0);
    }
    torch::Tensor scale = sum / static_cast<double>(n_fit);
    net->SetErrorScale(scale.clamp_min(std::max(1e-4, 0.1 * scale.mean().item<double>())));
  }

  // Threshold and validation report.
  torch::Tensor valid_idx = ToIndexTensor(split.valid);
  ModelInputs valid_inputs;
  valid_inputs.x = inputs.x;
  valid_inputs.windows = inputs.windows;
  if (inputs.windows.defined()) {
    valid_inputs.windows = inputs.windows.index_select(0, valid_idx);
  } else {
    valid_inputs.x = inputs.x.index_select(0, valid_idx);
  }
  double threshold = 0.5;
  ScoreOutput vs = ScoreInputs(*net, valid_inputs, targets.normal_class, cfg.task, threshold);
  std::vector<uint8_t> vlabels;
  for (size_t r : split.valid) vlabels.push_back(table.labels[r]);
  if (spec.IsAutoencoder()) {
    threshold = cfg.threshold == "far"
                    ? ThresholdForFalseAlarmRate(vlabels, vs.attack_score, cfg.target_far)
                    : BestF1Threshold(vlabels, vs.attack_score);
    for (size_t i = 0; i < vs.pred.size(); ++i) {
      vs.pred[i] = BinaryPrediction(vs.attack_score[i], threshold, targets.normal_class);
    }
  }
  std::vector<int> vtrue;
  for (size_t r : split.valid) vtrue.push_back(static_cast<int>(targets.y[r]));
  TrainSummary summary;
  summary.validation =
      Evaluate(targets.classes, targets.normal_class, vtrue, vs.pred, vs.attack_score);
  summary.validation.threshold = threshold;
  summary.train_rows = static_cast<size_t>(n_fit);
  summary.valid_rows = split.valid.size();
  summary.epochs_run = state.next_epoch;
  summary.best_epoch = state.best_epoch + 1;
  summary.train_seconds = state.train_seconds;
  summary.rank = rank;
  summary.world_size = world;
  summary.weights_sha256 = weights_sha256;
  summary.allreduce_bytes_per_step = dp ? dp->bytes_per_step() : 0;
  summary.samples_per_s =
      state.train_seconds > 0
          ? static_cast<double>(n_fit) * static_cast<double>(state.next_epoch) / state.train_seconds
          : 0;

  // Bundle.
  Bundle bundle;
  nlohmann::json& md = bundle.metadata;
  md["kind"] = "vigil-model";
  md["model"] = spec.ToJson();
  md["task"] = cfg.task;
  md["classes"] = targets.classes;
  md["normal_class"] = targets.normal_class;
  md["score"] = {{"kind", spec.IsAutoencoder() ? "reconstruction_error" : "attack_probability"},
                 {"threshold", threshold},
                 {"threshold_rule", spec.IsAutoencoder() ? cfg.threshold : std::string("fixed")},
                 {"error_scale", spec.IsAutoencoder() ? cfg.ae_score : std::string("none")}};
  md["preprocessing"] = prep.ToJson();
  md["features"] = prep.OutputNames();
  md["schema"] = SchemaToJson(schema);
  nlohmann::json config_json = cfg.ToJson();
  md["training"] = {{"config", config_json},
                    {"train_rows", summary.train_rows},
                    {"valid_rows", summary.valid_rows},
                    {"epochs_run", summary.epochs_run},
                    {"best_epoch", summary.best_epoch},
                    {"stopped_early", stopped_early},
                    {"train_seconds", summary.train_seconds},
                    {"samples_per_s", summary.samples_per_s},
                    {"threads", torch::get_num_threads()},
                    {"history", state.history}};
  if (dp) {
    md["training"]["distributed"] = {{"world_size", world},
                                     {"rendezvous", rv.source},
                                     {"backend", "gloo"},
                                     {"gradient_buckets", dp->bucket_count()},
                                     {"allreduce_bytes_per_step", dp->bytes_per_step()},
                                     {"weights_sha256", weights_sha256}};
  }
  md["metrics"] = {{"validation", summary.validation.ToJson()}};
  md["provenance"] = TrainingProvenance(cfg);
  bundle.tensors = net->ExportTensors();
  VIGIL_RETURN_IF_ERROR(WriteBundle(cfg.out, bundle));
  summary.total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return summary;
}

}  // namespace vigil
