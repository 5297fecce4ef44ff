// stacksnap restore ID [--as NAME] [--to DIR] [--force] [--no-safety-backup] [--compose v1|v2] [--key-file F] [--json]
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/event_printer.h"
#include "cli/globals.h"
#include "cli/job_runner.h"
#include "docker/client.h"
#include "repo/rebuild.h"
#include "restore/restore.h"

namespace stacksnap::cli {

namespace {

using Json = nlohmann::json;

struct RestoreArgs {
  restore::RestoreRequest req;
  std::string compose;
  std::string key_file;
};

std::string render(const Json& s) {
  std::string line = "restored " + s.value("backup_id", "") + " as project " + s.value("project", "") + " (" +
                     s.value("mode", "") + ", " + s.value("working_dir", "") + ") in " +
                     human_duration_ms(s.value("duration_ms", int64_t{0}));
  if (s.contains("safety_backup_id")) line += "\nsafety backup of the replaced project: " + s["safety_backup_id"].get<std::string>();
  size_t diffs = s.value("row_count_differences", size_t{0});
  line += diffs == 0 ? "\nrow counts match the backup" : "\nWARNING: " + std::to_string(diffs) + " row-count difference(s)";
  return line;  // problems, warnings and info follow (render_findings)
}

Outcome run_restore_cmd(const Globals& g, RestoreArgs& a) {
  a.req.compose = TRY(restore::parse_compose_choice(a.compose));
  auto cat = TRY(open_state(g));
  auto keys = TRY(reading_keys(g, a.key_file));
  auto docker = TRY(docker::Client::connect());
  // An ID this catalog does not know is looked up on the targets (a fresh data dir).
  auto rec = TRY(repo::find_backup(*cat, a.req.backup_id, keys));
  restore::RestoreEnv env{.data_dir = g.data_dir, .cat = *cat, .docker = *docker, .keys = keys};
  job::JobSpec spec{.kind = "restore",
                    .project = a.req.as_name.empty() ? rec.project : a.req.as_name,
                    .backup_id = a.req.backup_id,
                    .params = {{"as", a.req.as_name},
                               {"to", a.req.to_dir},
                               {"force", a.req.force},
                               {"no_safety_backup", a.req.no_safety_backup},
                               {"no_ports", a.req.no_ports},
                               {"compose", std::string(restore::compose_choice_name(a.req.compose))}}};
  return run_cli_job(
      g, *cat, spec,
      [&](job::Context& ctx, int64_t job_id) { return restore::run_restore(env, a.req, ctx, job_id); }, render);
}

}  // namespace

void add_restore_command(CLI::App& root, Globals& g) {
  auto a = std::make_shared<RestoreArgs>();
  auto* cmd = root.add_subcommand("restore", "Restore a backup as a running Compose project");
  cmd->add_option("ID", a->req.backup_id, "Backup ID (see `stacksnap backups`)")->required();
  cmd->add_option("--as", a->req.as_name, "Restore beside the original under this project name");
  cmd->add_option("--to", a->req.to_dir, "Working directory for the config files (binds under it follow)");
  cmd->add_flag("--force", a->req.force, "Replace an existing project (a safety backup is taken first)");
  cmd->add_flag("--no-safety-backup", a->req.no_safety_backup, "With --force: skip the safety backup");
  cmd->add_flag("--no-ports", a->req.no_ports,
                "With --as: publish no host ports (run the copy beside an original that holds them)");
  cmd->add_option("--compose", a->compose,
                  "Compose to drive: v1 (docker-compose) or v2 (docker compose); default: the one that created the project")
      ->check(CLI::IsMember({"v1", "v2", "auto"}));
  cmd->add_option("--key-file", a->key_file, "Key file (default: <data-dir>/key)");
  cmd->add_flag("--json", g.json, "Events as JSON lines");
  cmd->callback([&g, a] { g.result = run_restore_cmd(g, *a); });
}

}  // namespace stacksnap::cli
