// Where a data-parallel training process stands in its job: its rank, the world size and the
// rendezvous address (a c10d TCPStore hosted by rank 0), resolved from flags or the environment.
//
// Sources, first match wins, each one whole (a source is never mixed with another):
//   1. flags:    --rank, --world-size, --master ADDR:PORT
//   2. torchrun: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (LOCAL_WORLD_SIZE optional)
//   3. Slurm:    SLURM_PROCID, SLURM_STEP_NUM_TASKS (or SLURM_NTASKS), the first host of
//                SLURM_STEP_NODELIST (or SLURM_NODELIST); MASTER_ADDR/MASTER_PORT override the host
//                and the port (default 29500 + SLURM_JOB_ID % 1000, so jobs sharing a node differ)
//   4. none:     rank 0 of 1, the single-process trainer.
// The network interface Gloo uses comes from --dist-iface, else GLOO_SOCKET_IFNAME, else the
// host name's address. Everything here is pure (the environment is passed in) and LibTorch-free,
// so the CLI and tests use it without linking the training plane's heavy parts.
// Errors (a rank outside [0, world), a bad port, an unparsable node list) are InvalidArgument
// naming the variable or flag.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"

namespace vigil {

struct Rendezvous {
  int rank = 0;
  int world_size = 1;
  int local_world_size = 1;  // ranks on this host (thread budget); 1 when unknown
  std::string master_addr;   // host of the TCPStore (rank 0)
  uint16_t master_port = 29500;
  std::string iface;                  // network interface for Gloo; empty: the host name's address
  std::string source;                 // "flags", "torchrun", "slurm" or "none", for messages
  double timeout_s = 30;              // collectives: a silent peer fails the job after this long
  double rendezvous_timeout_s = 300;  // waiting for every rank to join

  bool distributed() const { return world_size > 1; }
};

// Flag values as given; unset values are rank < 0, world_size <= 0 and empty strings.
struct RendezvousFlags {
  int rank = -1;
  int world_size = 0;
  std::string master;  // ADDR:PORT
  std::string iface;
  double timeout_s = 30;
  double rendezvous_timeout_s = 300;
};

using GetEnv = std::function<const char*(const char*)>;

// The process's real environment (std::getenv).
GetEnv ProcessEnv();

Result<Rendezvous> ResolveRendezvous(const RendezvousFlags& flags, const GetEnv& env);

// The first host of a Slurm node list: "node01", "node[01-03,07]" -> "node01",
// "a1,b[2-3]" -> "a1", "rack[1-2]-n[3-4]" -> "rack1-n3". Zero padding is kept.
Result<std::string> FirstSlurmHost(const std::string& nodelist);

// "ADDR:PORT" (ADDR may be "[v6]") into its parts.
Status ParseHostPort(const std::string& s, std::string* host, uint16_t* port);

}  // namespace vigil
