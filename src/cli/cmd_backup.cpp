// stacksnap target add local NAME --path DIR | target add s3 NAME … | target list |
//           target test NAME | target remove NAME
// stacksnap backup PROJECT [--target NAME]... [--safe-mode] [--include-db-volumes] [--json]
// stacksnap backups [--project P] [--target NAME [--key-file F]] [--json]
// (verify ID lives beside verify FILE in cmd_archive.cpp and calls verify_backup_id)
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <optional>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/backup_ops.h"
#include "app/job_params.h"
#include "app/target_ops.h"
#include "app/targets.h"
#include "backup/pipeline.h"
#include "base/clock.h"
#include "base/fd.h"
#include "base/scope.h"
#include "catalog/record_json.h"
#include "cli/event_printer.h"
#include "cli/globals.h"
#include "cli/job_runner.h"
#include "docker/client.h"
#include "repo/repo.h"
#include "storage/s3/credentials.h"

namespace stacksnap::cli {

using Json = nlohmann::json;

namespace {

int64_t now_s() { return unix_seconds(std::chrono::system_clock::now()); }

Status valid_name(const std::string& what, const std::string& n) {
  if (n.empty() || n.size() > 64) return invalid_argument(what + " name must be 1 to 64 characters");
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return invalid_argument(what + " name \"" + n + "\" may only contain letters, digits, '-', '_' and '.'");
    }
  }
  return {};
}

// ---- targets ------------------------------------------------------------------------

struct TargetArgs {
  std::string name, path;
  std::string endpoint, bucket, region, prefix, addressing = "auto", access_key, access_key_file, secret_key_file,
      ca_file;
  bool readable_names = false;
  std::string format = "repository";
};

Status add_local_target(const Globals& g, const TargetArgs& a) {
  TRY(valid_name("target", a.name));
  catalog::TargetRecord rec{.name = a.name, .kind = "local", .config = {{"path", a.path}, {"format", a.format}},
                            .created_at = now_s()};
  TRY_CTX(app::check_target_config(g.data_dir, rec.kind, rec.config), "--path");
  std::error_code ec;
  std::filesystem::create_directories(a.path, ec);
  if (ec) return errno_error("create " + a.path, ec.value());
  auto cat = TRY(open_state(g));
  TRY(repo::open_target(rec));
  TRY(cat->add_target(rec));
  if (g.json) std::cout << Json{{"name", a.name}, {"kind", "local"}, {"path", a.path}}.dump() << "\n";
  else std::cout << "target " << a.name << " added: local " << a.path << "\n";
  return {};
}

Status add_s3_target(const Globals& g, const TargetArgs& a) {
  TRY(valid_name("target", a.name));
  if (a.bucket.empty()) return invalid_argument("--bucket is required");
  auto cat = TRY(open_state(g));
  Json cfg = {{"endpoint", a.endpoint}, {"bucket", a.bucket}, {"prefix", a.prefix}, {"addressing", a.addressing},
              {"readable_names", a.readable_names}, {"format", a.format}};
  if (!a.region.empty()) cfg["region"] = a.region;
  // Credentials: the access key is not secret; the secret key (and a CA bundle) are
  // copied into root-only files under the data dir, the only place a target may name.
  storage::s3::CredentialFlags flags{.access_key = a.access_key, .access_key_file = a.access_key_file,
                                     .secret_key_file = a.secret_key_file, .region = a.region};
  auto creds = TRY(storage::s3::resolve_credentials(flags));
  const std::string stem = app::target_secret_stem(a.name);
  auto forget_files = on_scope_exit([&] { app::remove_secret_files(g.data_dir, stem); });
  if (!a.ca_file.empty()) cfg["ca_file"] = TRY_CTX(app::copy_into_secrets(g.data_dir, a.ca_file, stem + ".ca.pem"), "--ca-file");
  cfg["access_key"] = creds.access_key;
  cfg["secret_key"] = creds.secret_key;
  if (a.region.empty()) cfg["region"] = creds.region;
  TRY(app::check_target_config(g.data_dir, "s3", cfg));
  TRY(app::store_inline_secrets(g.data_dir, stem, cfg));
  catalog::TargetRecord rec{.name = a.name, .kind = "s3", .config = cfg, .created_at = now_s()};
  TRY(repo::open_target(rec));
  TRY(cat->add_target(rec));
  forget_files.dismiss();
  if (g.json) std::cout << Json{{"name", a.name}, {"kind", "s3"}, {"credentials", creds.describe()}}.dump() << "\n";
  else std::cout << "target " << a.name << " added: s3 " << a.endpoint << " bucket " << a.bucket << " (" << creds.describe() << ")\n";
  return {};
}

Status list_targets(const Globals& g) {
  auto cat = TRY(open_state(g));
  auto targets = TRY(cat->list_targets());
  if (g.json) {
    Json arr = Json::array();
    for (const auto& t : targets) arr.push_back({{"name", t.name}, {"kind", t.kind}, {"config", app::public_target_config(t)}});
    std::cout << arr.dump() << "\n";
    return {};
  }
  if (targets.empty()) {
    std::cout << "no targets; add one with: stacksnap target add local NAME --path DIR\n";
    return {};
  }
  for (const auto& t : targets) {
    auto target = repo::open_target(t);
    std::cout << t.name << "  " << (target.ok() ? (*target)->describe() : t.kind + " (" + target.error().message() + ")")
              << "\n";
  }
  return {};
}

// Writes, reads back, lists and deletes a probe object; reports each step's latency
// (app::probe_target, the function behind POST /api/targets/{name}/test).
Status test_target(const Globals& g, const std::string& name) {
  auto cat = TRY(open_state(g));
  auto rec = TRY(cat->get_target(name));
  if (!g.json) std::cout << "testing target " << name << "\n";
  auto r = app::probe_target(rec, app::default_target_opener(), [&](const app::ProbeStep& st) {
    if (!g.json) std::cout << "  " << st.step << ": " << (st.ok ? "ok" : "FAILED") << " (" << st.ms << " ms)\n";
  });
  if (g.json) std::cout << r.to_json().dump() << "\n";
  if (!r.ok) {
    // The error keeps the code the step failed with (exit code), the hint says what to do.
    Error e = *r.error;
    if (!r.hint.empty()) e = Error(e.code(), e.message() + "\n  " + r.hint);
    return std::move(e).with_context("target " + name + ": " + r.failed_step);
  }
  if (!g.json) std::cout << "target " << name << " works: " << r.describe << " (" << r.latency_ms << " ms)\n";
  return {};
}

Status remove_target(const Globals& g, const std::string& name, bool force) {
  auto cat = TRY(open_state(g));
  const int64_t forgotten = TRY(app::remove_target(*cat, g.data_dir, name, force));
  std::cout << "target " << name << " removed from the catalog (stored backups were not deleted";
  if (forgotten > 0) std::cout << "; " << forgotten << " backup(s) stored on it forgotten by the catalog";
  std::cout << ")\n";
  return {};
}

// ---- backup -------------------------------------------------------------------------

struct BackupArgs {
  std::string project;
  std::vector<std::string> targets;
  bool safe_mode = false;
  bool include_db_volumes = false;
  int hook_timeout = 60;
  std::string key_file;
};

Outcome run_backup_cmd(const Globals& g, const BackupArgs& a) {
  auto cat = TRY(open_state(g));
  auto key = TRY(sealing_key(g, a.key_file));
  auto docker = TRY(docker::Client::connect());
  // The flags become the job's params and go through the parser the server's runner uses.
  const backup::BackupRequest req = TRY(app::backup_request(
      a.project, Json{{"targets", a.targets},
                      {"safe_mode", a.safe_mode},
                      {"include_db_volumes", a.include_db_volumes},
                      {"hook_timeout_s", a.hook_timeout},
                      {"reason", "manual"}}));
  backup::BackupEnv env{.data_dir = g.data_dir, .cat = *cat, .docker = *docker, .key = key};
  job::JobSpec spec{.kind = "backup", .project = a.project, .params = app::to_params(req)};
  return run_cli_job(
      g, *cat, spec,
      [&](job::Context& ctx, int64_t job_id) -> Result<Json> {
        return TRY(backup::run_backup(env, req, ctx, job_id)).to_json();
      },
      [](const Json& s) {
        std::string line = "backup " + s.value("backup_id", "") + " done: " +
                           human_bytes(s.value("content_bytes", uint64_t{0})) + " in " +
                           std::to_string(s.value("files", uint64_t{0})) + " files → " +
                           human_bytes(s.value("stored_bytes", uint64_t{0})) + " sealed, " +
                           human_duration_ms(s.value("duration_ms", int64_t{0}));
        if (s.value("pause_ms", int64_t{0}) > 0) line += ", apps paused " + human_duration_ms(s["pause_ms"].get<int64_t>());
        if (s.contains("failed_targets") && !s["failed_targets"].empty()) {
          line += "\nWARNING: not stored on";
          for (const auto& f : s["failed_targets"]) line += " " + f.value("target", "") + " (" + f.value("message", "") + ")";
        }
        return line;
      });
}

// ---- backups --------------------------------------------------------------------------

// A copy's verify state: "verified", "damaged", "unreachable", or "unchecked".
std::string copy_state_label(const catalog::CopyRecord& c) {
  return c.verify_state == catalog::CopyState::kUnchecked ? "unchecked" : std::string(catalog::copy_state_name(c.verify_state));
}

// With a target: the catalog is first rebuilt from it, and only its backups are listed;
// --json then prints {"rebuild": report, "backups": [...]}.
// Without one, an empty catalog (a fresh data dir: `key` and `target add` done, nothing
// backed up here yet) is first rebuilt from every target, so that a new machine lists
// what storage holds; a target that cannot be read is reported on stderr, not fatal.
Status list_backups(const Globals& g, const std::string& project, const std::string& target,
                    const std::string& key_file) {
  std::optional<Json> rebuild;
  if (!target.empty()) {
    rebuild = TRY(rebuild_catalog_from_target(g, target, key_file));
    if (!g.json) print_rebuild_report(*rebuild);
  }
  auto cat = TRY(open_state(g));
  if (target.empty() && TRY(cat->list_backups({})).empty()) {
    for (const auto& t : TRY(cat->list_targets())) {
      auto r = rebuild_catalog_from_target(g, t.name, key_file);  // reported on stderr: stdout keeps the list
      if (!r.ok()) {
        std::cerr << "catalog is empty; could not read target " << t.name << ": " << r.error().message() << "\n";
      } else if (!(*r)["added_backups"].empty() || !(*r)["problems"].empty()) {
        std::cerr << "catalog is empty; read target " << t.name << ": " << (*r)["added_backups"].size()
                  << " backup(s) added" << ((*r)["problems"].empty() ? "" : ", some objects skipped (see backups --target)")
                  << "\n";
      }
    }
  }
  auto list = TRY(cat->list_backups({.project = project, .target = target}));
  if (g.json) {
    Json arr = Json::array();
    for (const auto& b : list) arr.push_back(catalog::to_json(b));
    if (rebuild) std::cout << Json{{"rebuild", *rebuild}, {"backups", arr}}.dump() << "\n";
    else std::cout << arr.dump() << "\n";
    return {};
  }
  if (list.empty()) {
    std::cout << "no backups" << (project.empty() ? "" : " of " + project) << "\n";
    return {};
  }
  for (const auto& b : list) {
    std::string targets;
    for (const auto& c : b.copies) targets += (targets.empty() ? "" : ", ") + c.target + ":" + copy_state_label(c);
    std::cout << b.id << "  " << b.project << "  "
              << format_rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(b.created_at))) << "  "
              << human_bytes(b.stored_bytes) << "  verify:" << (b.verify_result.empty() ? "-" : b.verify_result)
              << "  drill:" << (b.drill_result.empty() ? "-" : b.drill_result) << "  [" << targets << "]\n";
  }
  return {};
}

}  // namespace

// export ID --out FILE (app::export_backup).
Status export_backup_cmd(const Globals& g, const std::string& id, const std::string& out, const std::string& key_file) {
  auto cat = TRY(open_state(g));
  auto keys = TRY(reading_keys(g, key_file));
  auto s = TRY(app::export_backup(*cat, id, keys, out, {}));
  if (g.json) std::cout << s.to_json().dump() << "\n";
  else std::cout << "backup " << id << " exported from " << s.target << " to " << out << " (" << human_bytes(s.bytes) << ", "
                 << s.files << " files); open it with: stacksnap extract " << out << " --out DIR\n";
  return {};
}

// verify ID: a recorded job (kind verify) like the server's, through the same function.
Outcome verify_backup_id(const Globals& g, const std::string& id, bool shallow, const std::string& key_file) {
  auto cat = TRY(open_state(g));
  auto b = TRY(cat->get_backup(id));
  std::optional<seal::KeySource> keys;
  if (!shallow) keys.emplace(TRY(reading_keys(g, key_file)));
  job::JobSpec spec{.kind = "verify", .project = b.project, .backup_id = id,
                    .params = app::to_params(app::VerifyRequest{.backup_id = id, .shallow = shallow})};
  return run_cli_job(
      g, *cat, spec,
      [&](job::Context& ctx, int64_t) -> Result<Json> {
        return TRY(app::verify_stored_backup(*cat, id, keys ? &*keys : nullptr, ctx)).to_json();
      },
      [shallow](const Json& s) {
        std::string out;
        for (const auto& c : s.value("copies", Json::array())) {
          const std::string state = c.value("state", "");
          out += "  " + c.value("target", "") + ": " + (state == "verified" ? "ok" : state + ": " + c.value("detail", "")) +
                 "\n";
        }
        return out + "backup " + s.value("backup_id", "") + ": " + (shallow ? "stored copies intact" : "verified") +
               " (" + human_duration_ms(s.value("duration_ms", int64_t{0})) + ")";
      });
}

void add_backup_commands(CLI::App& root, Globals& g) {
  auto* target = root.add_subcommand("target", "Manage storage targets");
  target->require_subcommand(1);
  auto* add = target->add_subcommand("add", "Add a storage target");
  add->require_subcommand(1);
  auto ta = std::make_shared<TargetArgs>();
  auto* local = add->add_subcommand("local", "A directory on this machine (or a mounted share)");
  local->add_option("NAME", ta->name, "Target name")->required();
  local->add_option("--path", ta->path, "Directory for the backups")->required();
  local->add_option("--format", ta->format, "repository (deduplicated, incremental) | archive (one file per backup)")
      ->capture_default_str();
  local->callback([&g, ta] { g.result = add_local_target(g, *ta); });
  auto* s3 = add->add_subcommand("s3", "An S3-compatible bucket (AWS, MinIO, Backblaze B2, Wasabi…)");
  s3->add_option("NAME", ta->name, "Target name")->required();
  s3->add_option("--endpoint", ta->endpoint, "Endpoint URL (empty: AWS for the region)");
  s3->add_option("--bucket", ta->bucket, "Bucket")->required();
  s3->add_option("--region", ta->region, "Region (default from AWS_REGION or us-east-1)");
  s3->add_option("--prefix", ta->prefix, "Key prefix inside the bucket");
  s3->add_option("--addressing", ta->addressing, "auto | path | virtual");
  s3->add_option("--access-key", ta->access_key, "Access key ID (or AWS_ACCESS_KEY_ID)");
  s3->add_option("--access-key-file", ta->access_key_file, "File holding the access key ID");
  s3->add_option("--secret-key-file", ta->secret_key_file, "File (mode 0600) holding the secret key (or AWS_SECRET_ACCESS_KEY)");
  s3->add_option("--ca-file", ta->ca_file, "PEM bundle of CAs to trust instead of the system's");
  s3->add_flag("--readable-names", ta->readable_names, "Let object names reveal project names (archive format)");
  s3->add_option("--format", ta->format, "repository (deduplicated, incremental) | archive (one file per backup)")
      ->capture_default_str();
  s3->callback([&g, ta] { g.result = add_s3_target(g, *ta); });
  target->add_subcommand("list", "List storage targets")->callback([&g] { g.result = list_targets(g); });
  auto fmt = std::make_shared<std::array<std::string, 2>>();  // name, format
  auto* setfmt = target->add_subcommand("set-format", "What new backups on a target become (stored ones stay as they are)");
  setfmt->add_option("NAME", (*fmt)[0], "Target name")->required();
  setfmt->add_option("FORMAT", (*fmt)[1], "repository | archive")->required();
  setfmt->callback([&g, fmt] {
    g.result = [&]() -> Status {
      auto cat = TRY(open_state(g));
      TRY(app::set_target_format(*cat, g.data_dir, (*fmt)[0], (*fmt)[1]));
      std::cout << "target " << (*fmt)[0] << ": new backups are stored as " << ((*fmt)[1] == "repository" ? "snapshots of a repository" : "archives") << "\n";
      return {};
    }();
  });
  auto tname = std::make_shared<std::string>();
  auto* test = target->add_subcommand("test", "Write, read, list and delete a probe object");
  test->add_option("NAME", *tname, "Target name")->required();
  test->callback([&g, tname] { g.result = test_target(g, *tname); });
  auto* rm = target->add_subcommand("remove", "Forget a target (its stored backups stay)");
  auto rm_force = std::make_shared<bool>(false);
  rm->add_option("NAME", *tname, "Target name")->required();
  rm->add_flag("--force", *rm_force, "Also forget the backups the catalog knows on it (their files stay)");
  rm->callback([&g, tname, rm_force] { g.result = remove_target(g, *tname, *rm_force); });

  auto ba = std::make_shared<BackupArgs>();
  auto* backup = root.add_subcommand("backup", "Back up one Compose project (dumps, volumes, bind mounts, config)");
  backup->add_option("PROJECT", ba->project, "Compose project name")->required();
  backup->add_option("--target", ba->targets, "Target name (repeatable; default: every target)");
  backup->add_flag("--safe-mode", ba->safe_mode, "Pause app containers while their volumes are read");
  backup->add_flag("--include-db-volumes", ba->include_db_volumes, "Also copy the raw data volumes of dumped databases");
  backup->add_option("--hook-timeout", ba->hook_timeout, "Seconds a hook may run")->capture_default_str();
  backup->add_option("--key-file", ba->key_file, "Key file (default: <data-dir>/key)");
  backup->add_flag("--json", g.json, "One JSON event per line");
  backup->callback([&g, ba] { g.result = run_backup_cmd(g, *ba); });

  auto la = std::make_shared<std::array<std::string, 3>>();  // project, target, key file
  auto* backups = root.add_subcommand("backups", "List backups in the catalog");
  backups->add_option("--project", (*la)[0], "Only this project");
  backups->add_option("--target", (*la)[1], "Rebuild the catalog from this target (with only the key), list its backups");
  backups->add_option("--key-file", (*la)[2], "Key file (default: <data-dir>/key)");
  backups->add_flag("--json", g.json, "JSON output");
  backups->callback([&g, la] { g.result = list_backups(g, (*la)[0], (*la)[1], (*la)[2]); });

  auto ex = std::make_shared<std::array<std::string, 3>>();  // id, out, key file
  auto* exp = root.add_subcommand("export", "Write a backup as one self-contained archive file (any target format)");
  exp->add_option("ID", (*ex)[0], "Backup ID")->required();
  exp->add_option("--out", (*ex)[1], "The archive file to create (must not exist)")->required();
  exp->add_option("--key-file", (*ex)[2], "Key file (default: <data-dir>/key)");
  exp->add_flag("--json", g.json, "JSON output");
  exp->callback([&g, ex] { g.result = export_backup_cmd(g, (*ex)[0], (*ex)[1], (*ex)[2]); });
}

}  // namespace stacksnap::cli
