#include "cli/cli.h"

int main(int argc, char** argv) { return stacksnap::cli::main(argc, argv); }
