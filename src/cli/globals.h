// Options shared by every subcommand, and the slot a subcommand reports into.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace CLI {
class App;
}

namespace stacksnap::cli {

// What a subcommand ends with: its Status, and for a job that ended partial (its work
// done, but not on every target it was asked for) why: exit code kExitPartial.
struct Outcome {
  Outcome(Status s = {}) : status(std::move(s)) {}  // NOLINT(implicit): commands return a Status
  Outcome(Error e) : status(std::move(e)) {}        // NOLINT(implicit): TRY returns an Error
  Status status;
  std::string partial;  // non-empty: the job ended partial, for this reason
};

struct Globals {
  std::string data_dir;  // --data-dir, STACKSNAP_DATA_DIR, default /var/lib/stacksnap
  bool json = false;     // --json (also accepted after the subcommand)
  std::optional<Outcome> result;  // set by the subcommand that ran
};

// One function per subcommand file (cli/cmd_*.cpp): adds the subcommand and its
// options to `root`; its callback stores its Status (or Outcome) into g.result.
void add_projects_command(CLI::App& root, Globals& g);
void add_key_commands(CLI::App& root, Globals& g);      // key init, key show
void add_archive_commands(CLI::App& root, Globals& g);  // verify, extract, inspect (+ hidden pack)
void add_serve_command(CLI::App& root, Globals& g);     // serve (cmd_serve.cpp)
void add_backup_commands(CLI::App& root, Globals& g);   // target …, backup, backups (cmd_backup.cpp)
void add_restore_command(CLI::App& root, Globals& g);  // restore ID (cmd_restore.cpp)
void add_drill_command(CLI::App& root, Globals& g);    // drill ID (cmd_drill.cpp)
void add_prune_commands(CLI::App& root, Globals& g);   // prune, retention set|show|remove (cmd_prune.cpp)
void add_admin_commands(CLI::App& root, Globals& g);   // admin reset-password (cmd_admin.cpp)
void add_doctor_command(CLI::App& root, Globals& g);   // doctor (cmd_doctor.cpp)
// verify ID (cmd_backup.cpp): every copy of a catalogued backup, streamed from its
// target, as a recorded job (app::verify_stored_backup).
Outcome verify_backup_id(const Globals& g, const std::string& id, bool shallow, const std::string& key_file);
// backups --target NAME (cmd_catalog.cpp): adds the target's backups missing from the
// catalog; returns the report (problems with single sidecars are in it, not errors).
// Prints nothing; print_rebuild_report() writes it for people.
Result<nlohmann::json> rebuild_catalog_from_target(const Globals& g, const std::string& target,
                                                   const std::string& key_file);
void print_rebuild_report(const nlohmann::json& report);
// `stacksnap` without a subcommand: the server with its default options.
Status serve_with_defaults(Globals& g);

}  // namespace stacksnap::cli
