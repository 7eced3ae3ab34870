// `vigil`: the training-plane command line. Everything happens in src/cli/ and the libraries.
#include "cli/commands.h"

int main(int argc, char** argv) { return vigil::RunVigil(argc, argv); }
