// Moving LibTorch tensors and module parameters to and from the bundle's float32 tensors, shared
// by every network of the training plane (model/network.h, model/deeplog.h).
//
// ToBundleTensor copies a tensor (any float type, any layout) into a row-major float32
// BundleTensor. LoadBundleTensor copies the bundle's tensor `name` into `dst` in place, and fails
// with Corruption when the bundle lacks it or its shape differs from dst's. CloneParameters and
// RestoreParameters snapshot and restore a module's parameters (best epoch for early stopping).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "core/status.h"

namespace vigil {

BundleTensor ToBundleTensor(const std::string& name, const torch::Tensor& t);
Status LoadBundleTensor(const Bundle& bundle, const std::string& name, torch::Tensor& dst);

std::vector<torch::Tensor> CloneParameters(const torch::nn::Module& module);
void RestoreParameters(torch::nn::Module& module, const std::vector<torch::Tensor>& saved);

}  // namespace vigil
