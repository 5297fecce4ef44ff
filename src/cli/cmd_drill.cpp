// stacksnap drill ID [--compose v1|v2] [--key-file F] [--json]
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/job_params.h"
#include "cli/event_printer.h"
#include "cli/globals.h"
#include "cli/job_runner.h"
#include "docker/client.h"
#include "repo/rebuild.h"
#include "restore/drill.h"

namespace stacksnap::cli {

namespace {

using Json = nlohmann::json;

struct DrillArgs {
  restore::DrillRequest req;
  std::string compose;
  std::string key_file;
};

std::string render(const Json& s) {
  std::string line = "drill of " + s.value("backup_id", "") + " passed in " +
                     human_duration_ms(s.value("duration_ms", int64_t{0})) + " (sandbox " +
                     s.value("drill_project", "") + ", torn down)";
  if (s.contains("databases")) {
    for (const auto& d : s["databases"]) {
      line += "\n  " + d.value("service", "") + " (" + d.value("engine", "") + "): " +
              std::to_string(d.value("tables", uint64_t{0})) + " table(s), row counts match";
    }
  }
  if (s.contains("volumes")) {
    for (const auto& v : s["volumes"]) {
      line += "\n  volume " + v.value("name", "") + ": " + std::to_string(v.value("files", uint64_t{0})) +
              " files, " + human_bytes(v.value("bytes", uint64_t{0})) + ", read back identical";
    }
  }
  return line;
}

Outcome run_drill_cmd(const Globals& g, DrillArgs& a) {
  // The flags become the job's params and go through the parser the server's runner uses.
  Json params = Json::object();
  if (!a.compose.empty() && a.compose != "auto") params["compose"] = a.compose;
  a.req = TRY(app::drill_request(a.req.backup_id, params));
  auto cat = TRY(open_state(g));
  auto keys = TRY(reading_keys(g, a.key_file));
  auto docker = TRY(docker::Client::connect());
  // An ID this catalog does not know is looked up on the targets (a fresh data dir).
  auto rec = TRY(repo::find_backup(*cat, a.req.backup_id, keys));
  restore::RestoreEnv env{.data_dir = g.data_dir, .cat = *cat, .docker = *docker, .keys = keys};
  job::JobSpec spec{.kind = "drill", .project = rec.project, .backup_id = a.req.backup_id,
                    .params = app::to_params(a.req)};
  return run_cli_job(
      g, *cat, spec, [&](job::Context& ctx, int64_t job_id) -> Result<Json> {
        return TRY(restore::run_drill(env, a.req, ctx, job_id)).to_json();
      },
      render);
}

}  // namespace

void add_drill_command(CLI::App& root, Globals& g) {
  auto a = std::make_shared<DrillArgs>();
  auto* cmd = root.add_subcommand("drill", "Restore a backup into a throwaway sandbox, check it, tear it down");
  cmd->add_option("ID", a->req.backup_id, "Backup ID")->required();
  cmd->add_option("--compose", a->compose,
                  "Compose to drive: v1 (docker-compose) or v2 (docker compose); default: the one that created the project")
      ->check(CLI::IsMember({"v1", "v2", "auto"}));
  cmd->add_option("--key-file", a->key_file, "Key file (default: <data-dir>/key)");
  cmd->add_flag("--json", g.json, "Events as JSON lines");
  cmd->callback([&g, a] { g.result = run_drill_cmd(g, *a); });
}

}  // namespace stacksnap::cli
