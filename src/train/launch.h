// `vigil train --nproc N`: runs N ranks of the same command on this host, torchrun style.
//
// LaunchLocalRanks() starts `exe args...` N times with RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT set (train/rendezvous.h reads
// them), children's stdout and stderr shared with this process. It waits for all of them; the
// first rank that exits non-zero or is killed by a signal stops the rest (SIGTERM, then SIGKILL
// after grace_s) and the launch fails with IOError naming that rank and how it ended. SIGINT and
// SIGTERM sent to the launcher are passed on to the ranks. Not thread-safe (it reaps children and
// sets signal handlers for its duration); LibTorch-free.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace vigil {

Status LaunchLocalRanks(int nproc, const std::string& exe, const std::vector<std::string>& args,
                        double grace_s = 5);

// This process's command line (from /proc/self/cmdline) without argv[0] and without the option
// `name` and its value ("--nproc 2" or "--nproc=2"): what each rank is started with.
Result<std::vector<std::string>> OwnArgumentsWithout(const std::string& name);

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick).
Result<int> FreeTcpPort();

}  // namespace vigil
