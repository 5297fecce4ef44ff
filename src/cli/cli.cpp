#include "cli/cli.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "base/build_info.h"
#include "cli/exit_codes.h"
#include "cli/globals.h"

namespace stacksnap::cli {

int main(int argc, char** argv) {
  Globals g;
  const char* env_dir = std::getenv("STACKSNAP_DATA_DIR");
  g.data_dir = env_dir && *env_dir ? env_dir : "/var/lib/stacksnap";

  CLI::App app{"StackSnap: consistent, encrypted backups and tested restores of Docker Compose stacks",
               "stacksnap"};
  app.set_version_flag("--version", version_line());
  app.add_option("--data-dir", g.data_dir, "State directory (env STACKSNAP_DATA_DIR)")
      ->capture_default_str();
  app.require_subcommand(0, 1);
  app.fallthrough();

  add_projects_command(app, g);
  add_key_commands(app, g);
  add_archive_commands(app, g);
  add_serve_command(app, g);
  add_backup_commands(app, g);
  add_restore_command(app, g);
  add_drill_command(app, g);
  add_prune_commands(app, g);
  add_admin_commands(app, g);
  add_doctor_command(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!g.result) g.result = serve_with_defaults(g);  // no subcommand: run the server
  const Status& st = g.result->status;
  if (!st.ok()) {
    std::fflush(stdout);
    std::cerr << "stacksnap: " << st.error().message() << "\n";
    return exit_code_for(st.error().code());
  }
  if (!g.result->partial.empty()) {
    std::fflush(stdout);
    std::cerr << "stacksnap: partial: " << g.result->partial << "\n";
    return kExitPartial;
  }
  return kExitOk;
}

}  // namespace stacksnap::cli
