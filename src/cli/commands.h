// vigil's command-line front end: one function per subcommand, each a thin layer over the
// libraries (data, features, model, train, eval, bundle). They print user-facing messages and
// return a process exit code (0 ok, 1 failure, 2 usage error). Library errors arrive as Status
// values; exceptions escaping a library are caught in RunVigil and reported, never a crash.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/status.h"

namespace vigil {

// Parses and runs one command. `add_training` registers the commands that need LibTorch (train,
// eval, predict, demo, bench: main_vigil_train.cc); without it (the lean `vigil`) those commands
// are listed in --help and, when given, handed to `vigil-train` next to this executable (execv,
// same arguments), or refused with exit 1 when it is missing.
using AddCommandsFn = void (*)(CLI::App& app, int* exit_code);
int RunVigil(int argc, char** argv, AddCommandsFn add_training);

// Registration of each subcommand on the root app; the returned callback runs it after parsing.
// Train, Eval, Demo and Bench are in the vigil_cli_train library (LibTorch).
void AddTrainCommand(CLI::App& app, int* exit_code);
void AddEvalCommands(CLI::App& app, int* exit_code);  // eval, predict
void AddInspectCommand(CLI::App& app, int* exit_code);
void AddDataCommands(CLI::App& app, int* exit_code);  // data fetch | list | synth
void AddDemoCommand(CLI::App& app, int* exit_code);
void AddBenchCommand(CLI::App& app, int* exit_code);      // bench score
void AddCaptureCommand(CLI::App& app, int* exit_code);    // capture (flow meter), --compare-argus
void AddLogsCommands(CLI::App& app, int* exit_code);      // logs parse | bench
void AddRegistryCommands(CLI::App& app, int* exit_code);  // keygen, sign, verify, publish, registry
void AddMetricsCommands(CLI::App& app, int* exit_code);   // metrics bench | speed
void AddConsoleCommand(CLI::App& app, int* exit_code);    // console (web UI and its JSON API)

// Prints "vigil: error: <message>" to stderr and returns 1.
int ReportError(const Status& s);

// `name` in the running executable's directory (vigil-train next to vigil), or `name` alone when
// /proc/self/exe cannot be read.
std::string SiblingExecutable(const std::string& name);

// Directory of the running executable's project checkout (parent of build/), or "".
std::string ProjectRootGuess();

}  // namespace vigil
