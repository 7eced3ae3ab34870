// Data parallelism for the trainer over torch c10d: a ProcessGroupGloo joined through a TCPStore
// that rank 0 hosts (train/rendezvous.h says where it is).
//
// Every rank holds a full copy of the model. BroadcastParameters() makes rank 0's initial weights
// everyone's; AttachGradientHooks() registers a hook on each parameter that copies its gradient
// into one of a few flat buckets (parameters in reverse order, ~bucket_bytes each) and starts an
// asynchronous all-reduce (sum) of a bucket as soon as its last gradient arrives, so communication
// overlaps the rest of the backward pass; FinishGradients() waits for the buckets and writes the
// summed gradients back. The trainer scales each rank's loss by its share of the global batch, so
// the sum is the global batch's mean gradient and the optimiser steps agree on every rank.
//
// Failure: a collective that fails (a peer died: its socket closes at once; or a peer is silent
// for Rendezvous::timeout_s) returns Unavailable naming the lost rank(s) where the store can still
// tell (ranks that fail report themselves there; a rank that never reports is the lost one; an
// unreachable store means rank 0, its host, is gone). Nothing hangs past the timeouts.
// Not thread-safe: one trainer thread drives it; hooks run on that thread during backward().
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/rendezvous.h"

namespace vigil {

class DataParallel {
 public:
  // Joins the group: blocks until all world_size ranks arrive (rendezvous_timeout_s at most).
  static Result<std::unique_ptr<DataParallel>> Connect(const Rendezvous& rv, int64_t bucket_bytes);
  ~DataParallel();

  int rank() const;
  int world_size() const;

  // Rank 0's parameters and buffers into everyone's.
  Status BroadcastParameters(torch::nn::Module& module);
  // Registers the gradient hooks (once; the module must outlive this object's use).
  void AttachGradientHooks(torch::nn::Module& module);
  // After backward() (or instead of it, for a rank with no rows in this step): all-reduces what
  // the hooks have not sent yet, waits, and stores the summed gradients in each parameter's grad.
  Status FinishGradients();
  // Element-wise sum over ranks.
  Result<std::vector<double>> AllReduceSum(const std::vector<double>& values);
  // SHA-256 of this rank's parameters; fails (Internal) unless every rank holds the same bytes.
  Result<std::string> CheckIdenticalParameters(torch::nn::Module& module);

  int64_t bucket_count() const;
  int64_t bytes_per_step() const;  // gradient bytes all-reduced per optimiser step

 private:
  struct Impl;
  explicit DataParallel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
