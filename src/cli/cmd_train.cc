// vigil train: flags and an optional TOML config into a TrainConfig, then train::Train(); with
// --nproc N, N data-parallel ranks of the same command on this host (train/launch.h).
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "train/launch.h"
#include "train/trainer.h"

namespace vigil {
namespace {

struct TrainFlags {
  TrainConfig flags;  // values as given on the command line
  std::string config_file;
  int nproc = 1;
  // For each option: copies its value from `flags` into a config when the option was given.
  std::vector<std::pair<CLI::Option*, std::function<void(TrainConfig*)>>> copiers;

  template <typename T>
  void Bind(CLI::App* cmd, const std::string& name, T TrainConfig::*field,
            const std::string& help) {
    CLI::Option* opt = cmd->add_option(name, flags.*field, help)->capture_default_str();
    copiers.emplace_back(opt, [this, field](TrainConfig* c) { c->*field = flags.*field; });
  }
};

}  // namespace

void AddTrainCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd =
      app.add_subcommand("train", "Train a model on a labelled file and write a bundle");
  cmd->add_option("--config", f->config_file,
                  "TOML file with any of these settings (flags override it)")
      ->check(CLI::ExistingFile);
  f->Bind(cmd, "--format", &TrainConfig::format,
          "Data format: nsl-kdd, unsw-nb15, csv; sessions, sessions-csv (deeplog)");
  f->Bind(cmd, "--schema", &TrainConfig::schema, "TOML schema for --format csv");
  f->Bind(cmd, "--train", &TrainConfig::train, "Training file");
  f->Bind(cmd, "--valid-split", &TrainConfig::valid_split,
          "Stratified validation fraction of the training file");
  f->Bind(cmd, "--numeric-bins", &TrainConfig::numeric_bins,
          "Piecewise-linear bins per numeric column (0: off; -1: 16 for classifiers on unsw-nb15, "
          "else 0)");
  f->Bind(cmd, "--model", &TrainConfig::model, "mlp, autoencoder, mlp-ae, lstm, deeplog");
  f->Bind(cmd, "--task", &TrainConfig::task, "binary or multiclass");
  f->Bind(cmd, "--hidden", &TrainConfig::hidden, "Hidden layer widths, e.g. --hidden 256 256");
  f->Bind(cmd, "--activation", &TrainConfig::activation, "relu, tanh, sigmoid, leaky_relu, elu");
  f->Bind(cmd, "--dropout", &TrainConfig::dropout,
          "Dropout after each hidden layer (-1: 0.1, autoencoders and deeplog 0)");
  f->Bind(cmd, "--window", &TrainConfig::window,
          "lstm: records per window; deeplog: h, keys before the predicted one (0: 8, deeplog 10)");
  f->Bind(cmd, "--lstm-hidden", &TrainConfig::lstm_hidden, "lstm, deeplog: hidden size");
  f->Bind(cmd, "--lstm-layers", &TrainConfig::lstm_layers, "lstm, deeplog: layers");
  f->Bind(cmd, "--top-g", &TrainConfig::top_g,
          "deeplog: g, only a key among the g most probable can be expected");
  f->Bind(cmd, "--optimizer", &TrainConfig::optimizer, "adam or sgd");
  f->Bind(cmd, "--lr", &TrainConfig::lr, "Learning rate (0: 0.001, lstm 0.005)");
  f->Bind(cmd, "--momentum", &TrainConfig::momentum, "SGD momentum");
  f->Bind(cmd, "--weight-decay", &TrainConfig::weight_decay, "L2 weight decay");
  f->Bind(cmd, "--lr-schedule", &TrainConfig::lr_schedule, "none, cosine or step");
  f->Bind(cmd, "--lr-step", &TrainConfig::lr_step, "step schedule: epochs between decays");
  f->Bind(cmd, "--lr-gamma", &TrainConfig::lr_gamma, "step schedule: decay factor");
  f->Bind(cmd, "--epochs", &TrainConfig::epochs, "Maximum epochs");
  f->Bind(cmd, "--batch-size", &TrainConfig::batch_size, "Mini-batch size (0: 256, lstm 64)");
  f->Bind(cmd, "--patience", &TrainConfig::patience,
          "Early stopping: epochs without validation improvement (0: off)");
  f->Bind(cmd, "--class-weights", &TrainConfig::class_weights, "none or balanced");
  f->Bind(cmd, "--ae-score", &TrainConfig::ae_score,
          "Autoencoder score: mse or scaled (per-feature error scale)");
  f->Bind(cmd, "--threshold", &TrainConfig::threshold,
          "Autoencoder and deeplog threshold rule on the validation split: f1 or far (deeplog: "
          "far without anomalies there; topg: DeepLog's pure top-g rule)");
  f->Bind(cmd, "--target-far", &TrainConfig::target_far,
          "Target false-alarm rate for --threshold far");
  f->Bind(cmd, "--seed", &TrainConfig::seed, "Random seed (split, init, shuffling)");
  f->Bind(cmd, "--threads", &TrainConfig::threads, "CPU threads (0: all cores)");
  f->Bind(cmd, "--out", &TrainConfig::out, "Bundle to write");
  f->Bind(cmd, "--checkpoint", &TrainConfig::checkpoint, "Checkpoint directory (default OUT.ckpt)");
  f->Bind(cmd, "--history", &TrainConfig::history,
          "Append one JSON line per epoch (epoch, lr, train_loss, valid_loss, elapsed_s) to FILE");
  f->Bind(cmd, "--max-rows", &TrainConfig::max_rows,
          "Train on the first N rows of the training file only (0: all)");
  f->Bind(cmd, "--stop-after", &TrainConfig::stop_after,
          "Stop after N epochs of this run (resume later)");
  f->Bind(cmd, "--rank", &TrainConfig::rank,
          "Data-parallel: this process's rank (-1: from $RANK or $SLURM_PROCID)");
  f->Bind(cmd, "--world-size", &TrainConfig::world_size,
          "Data-parallel: number of ranks (0: from $WORLD_SIZE or Slurm; else 1)");
  f->Bind(cmd, "--master", &TrainConfig::master,
          "Data-parallel: ADDR:PORT of rank 0's rendezvous (else $MASTER_ADDR:$MASTER_PORT)");
  f->Bind(cmd, "--dist-iface", &TrainConfig::dist_iface,
          "Data-parallel: network interface for Gloo (else $GLOO_SOCKET_IFNAME)");
  f->Bind(cmd, "--dist-timeout", &TrainConfig::dist_timeout,
          "Data-parallel: seconds before a silent rank fails the job");
  f->Bind(cmd, "--rendezvous-timeout", &TrainConfig::rendezvous_timeout,
          "Data-parallel: seconds to wait for every rank to join");
  f->Bind(cmd, "--bucket-kb", &TrainConfig::bucket_kb,
          "Data-parallel: gradient all-reduce bucket size in KiB");
  cmd->add_option("--nproc", f->nproc,
                  "Run N data-parallel ranks on this host (the global batch stays --batch-size)")
      ->check(CLI::Range(1, 1024));
  CLI::Option* resume =
      cmd->add_flag("--resume", f->flags.resume, "Continue from the last checkpoint");
  CLI::Option* quiet = cmd->add_flag("--quiet,-q", f->flags.quiet, "No progress output");
  f->copiers.emplace_back(resume, [f](TrainConfig* c) { c->resume = f->flags.resume; });
  f->copiers.emplace_back(quiet, [f](TrainConfig* c) { c->quiet = f->flags.quiet; });

  cmd->callback([f, exit_code]() {
    TrainConfig cfg;
    if (!f->config_file.empty()) {
      Status s = ApplyTomlFile(f->config_file, &cfg);
      if (!s.ok()) {
        *exit_code = ReportError(s);
        return;
      }
    }
    for (auto& [opt, copy] : f->copiers) {
      if (opt->count() > 0) copy(&cfg);
    }
    if (f->nproc > 1) {
      Status s = cfg.rank >= 0 || cfg.world_size > 0 || !cfg.master.empty()
                     ? Status::InvalidArgument(
                           "--nproc starts the ranks itself: drop --rank, "
                           "--world-size and --master")
                     : cfg.Validate();
      auto args = OwnArgumentsWithout("--nproc");
      if (s.ok() && !args.ok()) s = args.status();
      if (s.ok()) s = LaunchLocalRanks(f->nproc, "/proc/self/exe", *args);
      if (!s.ok()) *exit_code = ReportError(s);
      return;
    }
    auto result = Train(cfg);
    if (!result.ok()) {
      *exit_code = ReportError(result.status());
      return;
    }
    const TrainSummary& s = *result;
    if (s.rank != 0) return;  // rank 0 reports for the job
    if (s.interrupted) {
      std::fprintf(
          stderr,
          "train: stopped after epoch %lld as asked; continue with --resume (checkpoint in %s)\n",
          static_cast<long long>(s.epochs_run), s.checkpoint_dir.c_str());
      return;
    }
    std::fprintf(stderr,
                 "train: %zu rows x %lld epochs in %.2f s (%.0f samples/s); best epoch %lld\n",
                 s.train_rows, static_cast<long long>(s.epochs_run), s.train_seconds,
                 s.samples_per_s, static_cast<long long>(s.best_epoch));
    if (s.world_size > 1) {
      std::fprintf(stderr, "train: %d ranks, %lld gradient bytes all-reduced per step\n",
                   s.world_size, static_cast<long long>(s.allreduce_bytes_per_step));
    }
    std::printf("Validation split (%zu rows):\n%s\n", s.valid_rows, s.validation.ToText().c_str());
    std::printf("wrote %s\n", cfg.out.c_str());
  });
}

}  // namespace vigil
