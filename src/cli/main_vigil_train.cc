// `vigil-train`: the command line with the training plane (LibTorch): every command of `vigil`,
// plus train, eval, predict, demo and bench, which `vigil` hands over to this binary.
#include "cli/commands.h"

namespace {

void AddTrainingCommands(CLI::App& app, int* exit_code) {
  vigil::AddTrainCommand(app, exit_code);
  vigil::AddEvalCommands(app, exit_code);
  vigil::AddDemoCommand(app, exit_code);
  vigil::AddBenchCommand(app, exit_code);
}

}  // namespace

int main(int argc, char** argv) { return vigil::RunVigil(argc, argv, &AddTrainingCommands); }
