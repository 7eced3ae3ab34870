#include "model/tensor_io.h"

namespace vigil {

BundleTensor ToBundleTensor(const std::string& name, const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  BundleTensor bt;
  bt.name = name;
  bt.shape.assign(c.sizes().begin(), c.sizes().end());
  bt.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return bt;
}

Status LoadBundleTensor(const Bundle& bundle, const std::string& name, torch::Tensor& dst) {
  const BundleTensor* t = bundle.Find(name);
  if (t == nullptr) return Status::Corruption("bundle has no tensor '" + name + "'");
  std::vector<int64_t> want(dst.sizes().begin(), dst.sizes().end());
  if (t->shape != want) {
    return Status::Corruption("bundle tensor '" + name + "' has the wrong shape for the model");
  }
  torch::NoGradGuard no_grad;
  dst.copy_(torch::from_blob(const_cast<float*>(t->data.data()), want, torch::kFloat32));
  return Status::Ok();
}

std::vector<torch::Tensor> CloneParameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) out.push_back(p.detach().clone());
  return out;
}

void RestoreParameters(torch::nn::Module& module, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  auto params = module.parameters();
  for (size_t i = 0; i < params.size() && i < saved.size(); ++i) params[i].copy_(saved[i]);
}

}  // namespace vigil
