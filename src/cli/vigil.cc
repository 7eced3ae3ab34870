#include <unistd.h>

#include <cstdio>
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

int RunVigil(int argc, char** argv) {
  CLI::App app{"vigil: deep-learning anomaly detection for networks and logs (training plane)"};
  app.set_version_flag("--version", std::string("vigil ") + VIGIL_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  AddTrainCommand(app, &exit_code);
  AddEvalCommands(app, &exit_code);
  AddInspectCommand(app, &exit_code);
  AddDataCommands(app, &exit_code);
  AddDemoCommand(app, &exit_code);
  AddBenchCommand(app, &exit_code);
  AddCaptureCommand(app, &exit_code);
  AddLogsCommands(app, &exit_code);
  AddRegistryCommands(app, &exit_code);
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
