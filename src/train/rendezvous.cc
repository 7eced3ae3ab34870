#include "train/rendezvous.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace vigil {
namespace {

// A non-negative decimal integer, whole string.
bool ParseInt(const std::string& s, long long max, long long* out) {
  if (s.empty() || s.size() > 18) return false;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

Status EnvInt(const GetEnv& env, const char* name, long long max, long long* out) {
  const char* v = env(name);
  if (v == nullptr || !ParseInt(v, max, out)) {
    return Status::InvalidArgument(std::string("$") + name + "='" + (v ? v : "") +
                                   "' is not a non-negative integer");
  }
  return Status::Ok();
}

bool Has(const GetEnv& env, const char* name) {
  const char* v = env(name);
  return v != nullptr && *v != '\0';
}

}  // namespace

GetEnv ProcessEnv() {
  return [](const char* name) { return static_cast<const char*>(std::getenv(name)); };
}

Status ParseHostPort(const std::string& s, std::string* host, uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("'" + s + "' is not ADDR:PORT");
  std::string h = s.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  long long p = 0;
  if (!ParseInt(s.substr(colon + 1), 65535, &p) || p == 0)
    return Status::InvalidArgument("'" + s + "': the port must be in 1..65535");
  *host = h;
  *port = static_cast<uint16_t>(p);
  return Status::Ok();
}

Result<std::string> FirstSlurmHost(const std::string& nodelist) {
  std::string out;
  int depth = 0;
  bool in_first_item = false;  // inside a bracket, before its first ',' or '-'
  bool skipping = false;       // inside a bracket, after the first value
  for (char c : nodelist) {
    if (c == '[') {
      if (depth++ != 0) break;
      in_first_item = true;
      skipping = false;
      continue;
    }
    if (c == ']') {
      if (--depth < 0) break;
      in_first_item = skipping = false;
      continue;
    }
    if (depth == 0) {
      if (c == ',') break;  // the first host ends at a top-level comma
      out += c;
      continue;
    }
    if (skipping) continue;
    if (c == ',' || c == '-') {
      in_first_item = false;
      skipping = true;
      continue;
    }
    if (in_first_item) {
      if (c < '0' || c > '9')
        return Status::InvalidArgument("$SLURM_NODELIST='" + nodelist +
                                       "': only numeric ranges are supported in brackets");
      out += c;
    }
  }
  if (depth != 0 || out.empty() || out.find_first_of(" \t[]") != std::string::npos)
    return Status::InvalidArgument("$SLURM_NODELIST='" + nodelist + "' is not a Slurm node list");
  return out;
}

Result<Rendezvous> ResolveRendezvous(const RendezvousFlags& flags, const GetEnv& env) {
  Rendezvous rv;
  rv.timeout_s = flags.timeout_s;
  rv.rendezvous_timeout_s = flags.rendezvous_timeout_s;
  if (!(rv.timeout_s > 0) || !(rv.rendezvous_timeout_s > 0))
    return Status::InvalidArgument("--dist-timeout and --rendezvous-timeout must be positive");
  rv.iface = !flags.iface.empty()             ? flags.iface
             : Has(env, "GLOO_SOCKET_IFNAME") ? env("GLOO_SOCKET_IFNAME")
                                              : "";
  constexpr long long kMaxWorld = 1 << 16;
  long long v = 0;

  if (flags.rank >= 0 || flags.world_size > 0 || !flags.master.empty()) {
    rv.source = "flags";
    if (flags.world_size <= 0)
      return Status::InvalidArgument("--rank and --master need --world-size N");
    rv.world_size = flags.world_size;
    rv.rank = flags.rank < 0 ? 0 : flags.rank;
    if (rv.world_size > 1) {
      if (flags.master.empty())
        return Status::InvalidArgument("--world-size > 1 needs --master ADDR:PORT (rank 0's)");
      VIGIL_RETURN_IF_ERROR(ParseHostPort(flags.master, &rv.master_addr, &rv.master_port));
    }
  } else if (Has(env, "RANK") && Has(env, "WORLD_SIZE")) {
    rv.source = "torchrun";
    VIGIL_RETURN_IF_ERROR(EnvInt(env, "RANK", kMaxWorld, &v));
    rv.rank = static_cast<int>(v);
    VIGIL_RETURN_IF_ERROR(EnvInt(env, "WORLD_SIZE", kMaxWorld, &v));
    rv.world_size = static_cast<int>(v);
    if (rv.world_size > 1) {
      if (!Has(env, "MASTER_ADDR") || !Has(env, "MASTER_PORT"))
        return Status::InvalidArgument("$RANK and $WORLD_SIZE need $MASTER_ADDR and $MASTER_PORT");
      rv.master_addr = env("MASTER_ADDR");
      VIGIL_RETURN_IF_ERROR(EnvInt(env, "MASTER_PORT", 65535, &v));
      rv.master_port = static_cast<uint16_t>(v);
    }
    if (Has(env, "LOCAL_WORLD_SIZE")) {
      VIGIL_RETURN_IF_ERROR(EnvInt(env, "LOCAL_WORLD_SIZE", kMaxWorld, &v));
      rv.local_world_size = static_cast<int>(std::max(1LL, v));
    }
  } else if (Has(env, "SLURM_PROCID") && Has(env, "SLURM_NTASKS")) {
    rv.source = "slurm";
    VIGIL_RETURN_IF_ERROR(EnvInt(env, "SLURM_PROCID", kMaxWorld, &v));
    rv.rank = static_cast<int>(v);
    // A step started by srun knows its own task count; the batch script only the job's.
    const char* ntasks = Has(env, "SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS";
    VIGIL_RETURN_IF_ERROR(EnvInt(env, ntasks, kMaxWorld, &v));
    rv.world_size = static_cast<int>(v);
    if (rv.world_size > 1) {
      if (Has(env, "MASTER_ADDR")) {
        rv.master_addr = env("MASTER_ADDR");
      } else {
        const char* list = Has(env, "SLURM_STEP_NODELIST") ? "SLURM_STEP_NODELIST"
                           : Has(env, "SLURM_NODELIST")    ? "SLURM_NODELIST"
                                                           : nullptr;
        if (list == nullptr)
          return Status::InvalidArgument("Slurm task without $SLURM_NODELIST or $MASTER_ADDR");
        VIGIL_ASSIGN_OR_RETURN(rv.master_addr, FirstSlurmHost(env(list)));
      }
      if (Has(env, "MASTER_PORT")) {
        VIGIL_RETURN_IF_ERROR(EnvInt(env, "MASTER_PORT", 65535, &v));
        rv.master_port = static_cast<uint16_t>(v);
      } else if (Has(env, "SLURM_JOB_ID") &&
                 ParseInt(env("SLURM_JOB_ID"), std::numeric_limits<int>::max(), &v)) {
        rv.master_port = static_cast<uint16_t>(29500 + v % 1000);
      }
    }
    if (Has(env, "SLURM_NTASKS_PER_NODE") &&
        ParseInt(env("SLURM_NTASKS_PER_NODE"), kMaxWorld, &v) && v > 0) {
      rv.local_world_size = static_cast<int>(v);
    }
  } else {
    rv.source = "none";
    return rv;
  }
  if (rv.world_size < 1) return Status::InvalidArgument("the world size must be at least 1");
  if (rv.rank >= rv.world_size) {
    return Status::InvalidArgument("rank " + std::to_string(rv.rank) + " is outside world size " +
                                   std::to_string(rv.world_size) + " (from " + rv.source + ")");
  }
  if (rv.master_port == 0) return Status::InvalidArgument("the master port must be in 1..65535");
  rv.local_world_size = std::min(rv.local_world_size, rv.world_size);
  return rv;
}

}  // namespace vigil
