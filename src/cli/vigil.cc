#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>

#include "cli/commands.h"

namespace vigil {

int ReportError(const Status& s) {
  std::fprintf(stderr, "vigil: error: %s\n", s.message().c_str());
  return 1;
}

std::string ProjectRootGuess() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  // build/vigil -> the checkout is build/..
  return exe.parent_path().parent_path().string();
}

namespace {

// The commands that need LibTorch, with their --help lines as vigil-train registers them.
struct TrainingCommand {
  const char* name;
  const char* help;
};
constexpr TrainingCommand kTrainingCommands[] = {
    {"train", "Train a model on a labelled file and write a bundle"},
    {"eval", "Evaluate a bundle on a labelled test file"},
    {"predict", "Score every record of a file (JSON lines out)"},
    {"demo",
     "Train and evaluate an MLP and an autoencoder on NSL-KDD, export bundles, print the report"},
    {"bench", "Measure vigil's engines (see bench/)"},
};

}  // namespace

std::string SiblingExecutable(const std::string& name) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? name : (exe.parent_path() / name).string();
}

namespace {

// Replaces this process by vigil-train with the same arguments; returns only on failure.
int ExecTrainingPlane(char** argv) {
  const std::string path = SiblingExecutable("vigil-train");
  if (::access(path.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "vigil: error: '%s' runs in the training plane, %s, which is missing (build it: "
                 "cmake --build build --target vigil-train)\n",
                 argv[1], path.c_str());
    return 1;
  }
  ::execv(path.c_str(), argv);
  std::fprintf(stderr, "vigil: error: cannot run %s: %s\n", path.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

int RunVigil(int argc, char** argv, AddCommandsFn add_training) {
  if (add_training == nullptr && argc >= 2) {
    for (const TrainingCommand& c : kTrainingCommands) {
      if (std::strcmp(argv[1], c.name) == 0) return ExecTrainingPlane(argv);
    }
  }
  CLI::App app{"vigil: deep-learning anomaly detection for networks and logs (training plane)"};
  app.set_version_flag("--version", std::string("vigil ") + VIGIL_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  if (add_training != nullptr) {
    add_training(app, &exit_code);
  } else {
    for (const TrainingCommand& c : kTrainingCommands) {
      app.add_subcommand(c.name, c.help)->allow_extras();  // listed; run by vigil-train
    }
  }
  AddInspectCommand(app, &exit_code);
  AddDataCommands(app, &exit_code);
  AddCaptureCommand(app, &exit_code);
  AddLogsCommands(app, &exit_code);
  AddRegistryCommands(app, &exit_code);
  AddMetricsCommands(app, &exit_code);
  AddConsoleCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse error is a usage error (exit 2).
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigil: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}

}  // namespace vigil
