// Command-line entry point: parses argv, runs one subcommand, maps its error to
// an exit code (cli/exit_codes.h) and prints the error as one line on stderr.
#pragma once

namespace stacksnap::cli {

int main(int argc, char** argv);

}  // namespace stacksnap::cli
