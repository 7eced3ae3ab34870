// TrainConfig: every setting of a training run, from defaults, a TOML file and command-line flags
// (in that order; later wins). The effective config is stored in the bundle so a run can be
// repeated exactly. Keys in the TOML file are the long flag names with '-' or '_' ("batch-size" or
// batch_size); unknown keys are an error naming the key and the file.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil {

struct TrainConfig {
  // Data.
  std::string format = "nsl-kdd";  // nsl-kdd | unsw-nb15 | csv | sessions | sessions-csv (deeplog)
  std::string schema;              // TOML schema file for format csv
  std::string train;               // training file
  double valid_split = 0.1;        // stratified validation fraction of the training file
  // Piecewise-linear bins per numeric column (0: off; -1: the data set's default, see
  // DefaultNumericBins).
  int64_t numeric_bins = -1;
  // Model.
  std::string model = "mlp";    // mlp | autoencoder | mlp-ae | lstm | deeplog
  std::string task = "binary";  // binary | multiclass (autoencoders: binary)
  std::vector<int64_t> hidden;  // empty: the model's default
  std::string activation = "relu";
  double dropout = -1;  // < 0: the model's default (0.1 classifiers, 0 autoencoders, deeplog)
  int64_t window = 0;   // lstm: records per window; deeplog: h (0: 8 for lstm, 10 for deeplog)
  int64_t lstm_hidden = 64;
  int64_t lstm_layers = 2;
  int64_t top_g = 9;  // deeplog: g, only a key among the g most probable can be expected
  // Optimisation.
  std::string optimizer = "adam";  // adam | sgd
  double lr = 0;                   // 0: the model's default (ResolveDefaults)
  double momentum = 0.9;           // sgd
  double weight_decay = 0.0;
  std::string lr_schedule = "cosine";  // none | cosine | step
  int64_t lr_step = 10;                // step schedule: epochs between decays
  double lr_gamma = 0.5;               // step schedule: decay factor
  int64_t epochs = 20;
  int64_t batch_size = 0;              // 0: the model's default (ResolveDefaults)
  int64_t patience = 5;                // early stopping on validation loss; 0 disables
  std::string class_weights = "none";  // none | balanced
  // Autoencoder score: "mse" (mean squared reconstruction error) or "scaled" (each feature's
  // squared error divided by its mean on the normal training rows, so features that are always
  // hard to reconstruct do not drown the rest).
  std::string ae_score = "scaled";
  // Autoencoder and deeplog threshold selection on the validation split; deeplog without
  // anomalies there uses far, and topg is DeepLog's pure top-g rule.
  std::string threshold = "f1";  // f1 | far | topg (deeplog)
  double target_far = 0.01;      // for threshold = far
  // Reproducibility and resources.
  uint64_t seed = 42;
  int threads = 0;  // 0: all cores
  // Outputs.
  std::string out = "model.vigil";
  std::string checkpoint;  // directory; empty: OUT.ckpt
  // Optional: one JSON line per epoch ({"epoch", "lr", "train_loss", "valid_loss", "elapsed_s"}),
  // flushed as each epoch ends, for watchers (the console). Not part of the run's identity.
  std::string history;
  // Train on the file's first max_rows rows only (0: all); for quick looks.
  int64_t max_rows = 0;
  bool resume = false;
  // Stop after this many epochs of this invocation (0: no limit), leaving a checkpoint that
  // `resume` continues from; not part of the run's identity.
  int64_t stop_after = 0;
  bool quiet = false;
  // Data-parallel training (train/rendezvous.h, train/distributed.h): unset flags defer to the
  // environment (torchrun, Slurm). Not part of the run's identity, so a checkpoint written with
  // one world size continues with another.
  int rank = -1;
  int world_size = 0;
  std::string master;               // ADDR:PORT of rank 0's rendezvous store
  std::string dist_iface;           // network interface for Gloo (else $GLOO_SOCKET_IFNAME)
  double dist_timeout = 30;         // seconds a collective waits for a silent peer
  double rendezvous_timeout = 300;  // seconds to wait for every rank to join
  int64_t bucket_kb = 256;          // gradient all-reduce bucket size

  Status Validate() const;
  nlohmann::json ToJson() const;
  // The learning rate of `epoch` (0-based) under lr_schedule.
  double LearningRateAt(int64_t epoch) const;
};

// Replaces the "model's default" values by what they mean for this model and data set, so the
// bundle records the effective configuration:
//   dropout -1       -> 0.1 for classifiers, 0 for autoencoders (dropout inflates their error)
//                       and deeplog (between its LSTM layers)
//   window 0         -> 8 for lstm, 10 for deeplog (DeepLog's h)
//   lr 0             -> 0.005 for lstm and deeplog, 0.001 otherwise
//   batch_size 0     -> 64 for lstm and deeplog, 256 otherwise (an LSTM needs more, smaller steps)
//   numeric_bins -1  -> 16 for classifiers on unsw-nb15, where the validation split of the dev file
//                       shows a clear gain (docs/training.md), 0 everywhere else
void ResolveDefaults(TrainConfig* config);

// Applies the keys of a TOML file over *config.
Status ApplyTomlFile(const std::string& path, TrainConfig* config);

}  // namespace vigil
