// stacksnap restore ID [--as NAME] [--to DIR] [--force] [--no-safety-backup] [--compose v1|v2] [--key-file F] [--json]
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/backup_ops.h"
#include "app/job_params.h"
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
  std::string backup_id, as_name, to_dir, compose, key_file, from;
  bool force = false, no_safety_backup = false, no_ports = false;
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
  auto cat = TRY(open_state(g));
  auto keys = TRY(reading_keys(g, a.key_file));
  auto docker = TRY(docker::Client::connect());
  // An ID this catalog does not know is looked up on the targets (a fresh data dir).
  auto rec = TRY(repo::find_backup(*cat, a.backup_id, keys));
  // The flags become the job's params and go through the parser the server's runner uses.
  Json params{{"force", a.force}, {"no_safety_backup", a.no_safety_backup}, {"no_ports", a.no_ports}};
  if (!a.as_name.empty()) params["as"] = a.as_name;
  if (!a.to_dir.empty()) params["to"] = std::filesystem::absolute(a.to_dir).lexically_normal().string();
  if (!a.compose.empty() && a.compose != "auto") params["compose"] = a.compose;
  if (!a.from.empty()) params["from"] = a.from;
  const restore::RestoreRequest req = TRY(app::restore_request(a.backup_id, rec.project, params));
  restore::RestoreEnv env{.data_dir = g.data_dir, .cat = *cat, .docker = *docker, .keys = keys,
                          .safety_backup = app::safety_backup_by_pipeline(g.data_dir, *cat, *docker, keys)};
  job::JobSpec spec{.kind = "restore",
                    .project = app::restore_project(req, rec.project),
                    .backup_id = a.backup_id,
                    .params = app::to_params(req)};
  return run_cli_job(
      g, *cat, spec,
      [&](job::Context& ctx, int64_t job_id) -> Result<Json> {
        return TRY(restore::run_restore(env, req, ctx, job_id)).to_json();
      }, render);
}

}  // namespace

void add_restore_command(CLI::App& root, Globals& g) {
  auto a = std::make_shared<RestoreArgs>();
  auto* cmd = root.add_subcommand("restore", "Restore a backup as a running Compose project");
  cmd->add_option("ID", a->backup_id, "Backup ID (see `stacksnap backups`)")->required();
  cmd->add_option("--as", a->as_name, "Restore beside the original under this project name");
  cmd->add_option("--to", a->to_dir, "Working directory for the config files (binds under it follow)");
  cmd->add_flag("--force", a->force, "Replace an existing project (a safety backup is taken first)");
  cmd->add_flag("--no-safety-backup", a->no_safety_backup, "With --force: skip the safety backup");
  cmd->add_option("--from", a->from, "Restore the copy stored on this target (default: the first copy that verifies)");
  cmd->add_flag("--no-ports", a->no_ports,
                "With --as: publish no host ports (run the copy beside an original that holds them)");
  cmd->add_option("--compose", a->compose,
                  "Compose to drive: v1 (docker-compose) or v2 (docker compose); default: the one that created the project")
      ->check(CLI::IsMember({"v1", "v2", "auto"}));
  cmd->add_option("--key-file", a->key_file, "Key file (default: <data-dir>/key)");
  cmd->add_flag("--json", g.json, "Events as JSON lines");
  cmd->callback([&g, a] { g.result = run_restore_cmd(g, *a); });
}

}  // namespace stacksnap::cli
