// Options shared by every subcommand, and the slot a subcommand reports into.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"

namespace CLI {
class App;
}

namespace stacksnap::cli {

struct Globals {
  std::string data_dir;  // --data-dir, STACKSNAP_DATA_DIR, default /var/lib/stacksnap
  bool json = false;     // --json (also accepted after the subcommand)
  std::optional<Status> result;  // set by the subcommand that ran
};

// One function per subcommand file (cli/cmd_*.cpp): adds the subcommand and its
// options to `root`; its callback stores its Status into g.result.
void add_projects_command(CLI::App& root, Globals& g);
void add_key_commands(CLI::App& root, Globals& g);      // key init, key show
void add_archive_commands(CLI::App& root, Globals& g);  // verify, extract, inspect (+ hidden pack)
void add_serve_command(CLI::App& root, Globals& g);     // serve (cmd_serve.cpp)
// `stacksnap` without a subcommand: the server with its default options.
Status serve_with_defaults(Globals& g);

}  // namespace stacksnap::cli
