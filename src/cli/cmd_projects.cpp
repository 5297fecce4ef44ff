#include <CLI/CLI.hpp>

#include "cli/globals.h"

namespace stacksnap::cli {

void add_projects_command(CLI::App& root, Globals& g) {
  auto* cmd = root.add_subcommand("projects", "List the Compose projects on the Docker Engine");
  cmd->callback([&g] { g.result = unimplemented("projects: not built yet"); });
}

}  // namespace stacksnap::cli
