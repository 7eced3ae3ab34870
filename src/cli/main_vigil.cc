// `vigil`: the command line, without LibTorch. The commands that need it (train, eval, predict,
// demo, bench) run in `vigil-train`, which this binary execs with the same arguments
// (src/cli/vigil.cc); everything happens in src/cli/ and the libraries.
#include "cli/commands.h"

int main(int argc, char** argv) { return vigil::RunVigil(argc, argv, nullptr); }
