// The training loop: from a TrainConfig to a written model bundle.
//
// Train() reads the training file, takes a stratified validation split from it (--valid-split,
// random, never by position), fits preprocessing on the training part only, trains the network
// with mini-batches shuffled every epoch, early-stops on the validation loss and keeps the best
// epoch's weights, picks the autoencoder threshold on the validation split, evaluates on it, and
// writes the bundle atomically. Autoencoders train on the normal rows of the training part only.
//
// Reproducible: with the same config, machine and thread count the bundle's weights are identical
// bit for bit (one seed drives the split, initialisation, dropout and shuffling). A checkpoint is
// written after every epoch to the checkpoint directory; with `resume` the run continues from the
// last one and ends with the same weights as an uninterrupted run.
//
// Data-parallel (config rank/world_size/master, or the torchrun or Slurm environment; see
// train/rendezvous.h): every rank reads the whole file and takes the same seeded split and
// preprocessing, then trains on its share of each global batch (batch_size rows over all ranks)
// with gradients all-reduced over Gloo (train/distributed.h); rank 0 alone writes checkpoints and
// the bundle. With one rank none of this runs and the result is the single-process one, bit for
// bit. A lost rank makes the others return an error naming it within config.dist_timeout.
//
// Progress (a bar with ETA, one line per epoch) goes to stderr unless config.quiet.
// Not thread-safe: it sets LibTorch's global thread count and seed.
#pragma once

#include <nlohmann/json.hpp>

#include "bundle/bundle.h"
#include "core/status.h"
#include "eval/metrics.h"
#include "train/config.h"

namespace vigil {

struct TrainSummary {
  size_t train_rows = 0;  // rows the network trained on (autoencoders: normal rows)
  size_t valid_rows = 0;
  int64_t epochs_run = 0;
  int64_t best_epoch = 0;
  double train_seconds = 0;  // optimisation loop only
  double total_seconds = 0;  // everything, reading the file included
  double samples_per_s = 0;  // train_rows * epochs_run / train_seconds
  EvalReport validation;
  // Set when config.stop_after ended the run before the last epoch: no bundle was written, and
  // the checkpoint in checkpoint_dir continues it with config.resume.
  bool interrupted = false;
  std::string checkpoint_dir;
  // Data-parallel runs (train/distributed.h): ranks other than 0 return after training with the
  // counts and the weights' digest only (no validation report, no bundle).
  int rank = 0;
  int world_size = 1;
  std::string weights_sha256;            // identical on every rank (checked); empty for 1 rank
  int64_t allreduce_bytes_per_step = 0;  // gradient bytes each rank all-reduces per step
};

Result<TrainSummary> Train(const TrainConfig& config);

// The bundle's "provenance" metadata for a run on config.train: the data file's name and SHA-256,
// the vigil and LibTorch versions, and the time (shared by every trainer).
nlohmann::json TrainingProvenance(const TrainConfig& config);

}  // namespace vigil
