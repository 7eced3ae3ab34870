// Stop signals of the long-running commands (agents, registry, console).
//
// BlockStopSignals() blocks SIGINT and SIGTERM in the calling thread, so every thread it starts
// afterwards inherits the mask and the signals go only to a thread that waits for them (sigwait or
// sigtimedwait on the returned set): no server or worker thread is interrupted. It also ignores
// SIGPIPE, so a write to a connection the peer closed fails with EPIPE instead of ending the
// process. Call it from main's thread before starting any thread.
#pragma once

#include <csignal>

namespace vigil {

sigset_t BlockStopSignals();

}  // namespace vigil
