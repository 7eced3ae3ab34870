// The only translation unit that includes c10d (compiled with USE_C10D_GLOO, see CMakeLists.txt).
#include "train/distributed.h"

#include <chrono>
#include <string_view>
#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/sha256.h"

namespace vigil {
namespace {

using std::chrono::milliseconds;

milliseconds Millis(double seconds) { return milliseconds(static_cast<int64_t>(seconds * 1000)); }

// c10d errors carry a backtrace after the first line; the first line is the message.
std::string Brief(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string m = c10 != nullptr ? c10->what_without_backtrace() : e.what();
  size_t nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  return m;
}

}  // namespace

struct DataParallel::Impl {
  Rendezvous rv;
  int64_t bucket_bytes = 0;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;

  // Gradient buckets (AttachGradientHooks).
  struct Slot {
    torch::Tensor param;
    size_t bucket = 0;
    int64_t offset = 0;
    int64_t numel = 0;
    bool written = false;
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<size_t> slots;
    size_t pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::string hook_error;  // a failure to start an all-reduce inside a hook

  void Launch(Bucket& b) {
    try {
      std::vector<at::Tensor> tensors{b.flat};
      b.work = pg->allreduce(tensors);
    } catch (const std::exception& e) {
      if (hook_error.empty()) hook_error = Brief(e);
    }
  }

  void OnGradient(size_t i, const torch::Tensor& grad) {
    Slot& s = slots[i];
    Bucket& b = buckets[s.bucket];
    if (s.written || b.work) return;  // a parameter used twice: its first gradient was sent
    b.flat.slice(0, s.offset, s.offset + s.numel).copy_(grad.reshape({-1}));
    s.written = true;
    if (--b.pending == 0) Launch(b);
  }

  // Which ranks are gone, asked of the store after a collective failed: every rank that sees the
  // failure reports itself; a rank that has not reported within a moment is the lost one.
  std::string LostRanks() {
    try {
      store->setTimeout(milliseconds(3000));
      store->set("vigil/failed/" + std::to_string(rv.rank), std::vector<uint8_t>{'1'});
      std::this_thread::sleep_for(milliseconds(2000));
      std::string lost;
      for (int r = 0; r < rv.world_size; ++r) {
        if (r == rv.rank || store->check({"vigil/failed/" + std::to_string(r)})) continue;
        lost += (lost.empty() ? "" : ", ") + std::to_string(r);
      }
      if (lost.empty()) return "every rank reports the failure";
      return (lost.find(',') == std::string::npos ? "lost rank " : "lost ranks ") + lost;
    } catch (const std::exception&) {
      return "lost rank 0 (the rendezvous store it hosts at " + rv.master_addr + ":" +
             std::to_string(rv.master_port) + " is gone)";
    }
  }

  Status Failure(const std::string& what, const std::string& detail) {
    return Status::IOError("rank " + std::to_string(rv.rank) + " of " +
                           std::to_string(rv.world_size) + ": " + what + " failed: " + LostRanks() +
                           " (" + detail + ")");
  }

  Status Wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      return Failure(what, Brief(e));
    }
    return Status::Ok();
  }

  Status AllReduce(torch::Tensor& t, c10d::ReduceOp op, const std::string& what) {
    c10::intrusive_ptr<c10d::Work> work;
    try {
      std::vector<at::Tensor> tensors{t};
      c10d::AllreduceOptions o;
      o.reduceOp = op;
      work = pg->allreduce(tensors, o);
    } catch (const std::exception& e) {
      return Failure(what, Brief(e));
    }
    return Wait(work, what);
  }
};

DataParallel::DataParallel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DataParallel::~DataParallel() = default;

Result<std::unique_ptr<DataParallel>> DataParallel::Connect(const Rendezvous& rv,
                                                            int64_t bucket_bytes) {
  auto impl = std::make_unique<Impl>();
  impl->rv = rv;
  impl->bucket_bytes = std::max<int64_t>(bucket_bytes, 4096);
  const std::string where = rv.master_addr + ":" + std::to_string(rv.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = rv.master_port;
    so.isServer = rv.rank == 0;
    so.numWorkers = static_cast<size_t>(rv.world_size);
    so.waitWorkers = true;
    so.timeout = Millis(rv.rendezvous_timeout_s);
    impl->store = c10::make_intrusive<c10d::TCPStore>(rv.master_addr, so);
  } catch (const std::exception& e) {
    return Status::IOError("rank " + std::to_string(rv.rank) + ": rendezvous at " + where +
                           " failed (" + Brief(e) + "); is rank 0 running and the port free?");
  }
  try {
    // Every rank has reached the store by now (waitWorkers), so the short collective timeout also
    // bounds the Gloo mesh set-up.
    auto options = c10d::ProcessGroupGloo::Options::create(Millis(rv.timeout_s));
    options->devices.push_back(rv.iface.empty()
                                   ? c10d::ProcessGroupGloo::createDefaultDevice()
                                   : c10d::ProcessGroupGloo::createDeviceForInterface(rv.iface));
    options->threads = 2;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("vigil/pg", impl->store);
    impl->pg =
        c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rv.rank, rv.world_size, options);
    impl->store->setTimeout(Millis(rv.timeout_s));
  } catch (const std::exception& e) {
    return Status::IOError("rank " + std::to_string(rv.rank) + ": cannot join the Gloo group of " +
                           std::to_string(rv.world_size) + " ranks via " + where +
                           (rv.iface.empty() ? "" : " on interface " + rv.iface) + " (" + Brief(e) +
                           ")");
  }
  return std::unique_ptr<DataParallel>(new DataParallel(std::move(impl)));
}

int DataParallel::rank() const { return impl_->rv.rank; }
int DataParallel::world_size() const { return impl_->rv.world_size; }
int64_t DataParallel::bucket_count() const { return static_cast<int64_t>(impl_->buckets.size()); }

int64_t DataParallel::bytes_per_step() const {
  int64_t bytes = 0;
  for (const auto& b : impl_->buckets) bytes += b.flat.numel() * b.flat.element_size();
  return bytes;
}

Status DataParallel::BroadcastParameters(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors = module.parameters();
  for (auto& b : module.buffers()) tensors.push_back(b);
  for (auto& t : tensors) {
    c10::intrusive_ptr<c10d::Work> work;
    torch::Tensor dense = t.contiguous();
    try {
      std::vector<at::Tensor> v{dense};
      work = impl_->pg->broadcast(v);
    } catch (const std::exception& e) {
      return impl_->Failure("broadcasting the initial weights", Brief(e));
    }
    VIGIL_RETURN_IF_ERROR(impl_->Wait(work, "broadcasting the initial weights"));
    if (!dense.is_same(t)) t.copy_(dense);
  }
  return Status::Ok();
}

void DataParallel::AttachGradientHooks(torch::nn::Module& module) {
  Impl& m = *impl_;
  if (!m.slots.empty()) return;
  std::vector<torch::Tensor> params;
  for (auto& p : module.parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  // Reverse order: backward produces the last layer's gradients first, so its bucket fills and
  // leaves first while the earlier layers are still being differentiated.
  int64_t used = 0;
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const int64_t bytes = it->numel() * static_cast<int64_t>(sizeof(float));
    if (m.buckets.empty() || (used > 0 && used + bytes > m.bucket_bytes)) {
      m.buckets.emplace_back();
      used = 0;
    }
    Impl::Slot s;
    s.param = *it;
    s.bucket = m.buckets.size() - 1;
    s.offset = used / static_cast<int64_t>(sizeof(float));
    s.numel = it->numel();
    m.buckets.back().slots.push_back(m.slots.size());
    m.slots.push_back(s);
    used += bytes;
  }
  for (auto& b : m.buckets) {
    int64_t n = 0;
    for (size_t i : b.slots) n = std::max(n, m.slots[i].offset + m.slots[i].numel);
    b.flat = torch::zeros({n}, torch::kFloat32);
    b.pending = b.slots.size();
  }
  Impl* raw = impl_.get();
  for (size_t i = 0; i < m.slots.size(); ++i) {
    m.slots[i].param.register_hook([raw, i](torch::Tensor grad) { raw->OnGradient(i, grad); });
  }
}

Status DataParallel::FinishGradients() {
  Impl& m = *impl_;
  // Buckets whose parameters got no gradient this step (a rank without rows, an unused layer)
  // still take part, with zeros, so every rank runs the same collectives in the same order.
  for (auto& b : m.buckets) {
    if (b.work) continue;
    for (size_t i : b.slots) {
      Impl::Slot& s = m.slots[i];
      if (!s.written) b.flat.slice(0, s.offset, s.offset + s.numel).zero_();
    }
    m.Launch(b);
  }
  Status status;
  if (!m.hook_error.empty()) status = m.Failure("starting a gradient all-reduce", m.hook_error);
  for (auto& b : m.buckets) {
    if (status.ok() && b.work) status = m.Wait(b.work, "the gradient all-reduce");
  }
  if (status.ok()) {
    torch::NoGradGuard no_grad;
    for (auto& s : m.slots) {
      torch::Tensor sum =
          m.buckets[s.bucket].flat.slice(0, s.offset, s.offset + s.numel).view_as(s.param);
      if (s.param.grad().defined()) {
        s.param.mutable_grad().copy_(sum);
      } else {
        s.param.mutable_grad() = sum.clone();
      }
    }
  }
  for (auto& b : m.buckets) {
    b.work.reset();
    b.pending = b.slots.size();
  }
  for (auto& s : m.slots) s.written = false;
  m.hook_error.clear();
  return status;
}

Result<std::vector<double>> DataParallel::AllReduceSum(const std::vector<double>& values) {
  torch::Tensor t = torch::tensor(values, torch::kFloat64);
  VIGIL_RETURN_IF_ERROR(impl_->AllReduce(t, c10d::ReduceOp::SUM, "an all-reduce of statistics"));
  std::vector<double> out(values.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = t[static_cast<int64_t>(i)].item<double>();
  return out;
}

Result<std::string> DataParallel::CheckIdenticalParameters(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat;
  for (const auto& p : module.parameters()) flat.push_back(p.detach().reshape({-1}));
  torch::Tensor mine = torch::cat(flat).contiguous();
  torch::Tensor lo = mine.clone();
  torch::Tensor hi = mine.clone();
  VIGIL_RETURN_IF_ERROR(impl_->AllReduce(lo, c10d::ReduceOp::MIN, "the weight check"));
  VIGIL_RETURN_IF_ERROR(impl_->AllReduce(hi, c10d::ReduceOp::MAX, "the weight check"));
  if (!torch::equal(lo, mine) || !torch::equal(hi, mine)) {
    return Status::Internal("rank " + std::to_string(rank()) +
                            ": the weights differ between ranks after training (a bug)");
  }
  return Sha256Hex(std::string_view(static_cast<const char*>(mine.data_ptr()),
                                    static_cast<size_t>(mine.numel() * mine.element_size())));
}

}  // namespace vigil
