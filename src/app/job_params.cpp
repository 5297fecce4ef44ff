#include "app/job_params.h"

#include <initializer_list>
#include <string_view>

namespace stacksnap::app {

namespace {

// Refuses a field no job of this kind knows.
Status only_known(const Json& params, const char* kind, std::initializer_list<std::string_view> known) {
  if (params.is_null()) return {};
  if (!params.is_object()) return invalid_argument(std::string(kind) + " parameters must be a JSON object");
  for (const auto& [k, v] : params.items()) {
    bool ok = false;
    for (auto name : known) ok = ok || k == name;
    if (!ok) return invalid_argument("unknown " + std::string(kind) + " parameter \"" + k + "\"");
  }
  return {};
}

bool has(const Json& params, const char* key) {
  return params.is_object() && params.contains(key) && !params[key].is_null();
}

Result<bool> boolean(const Json& params, const char* key) {
  if (!has(params, key)) return false;
  if (!params[key].is_boolean()) return invalid_argument(std::string(key) + " must be true or false");
  return params[key].get<bool>();
}

Result<std::string> text(const Json& params, const char* key, size_t max_len = 4096) {
  if (!has(params, key)) return std::string();
  if (!params[key].is_string()) return invalid_argument(std::string(key) + " must be a string");
  std::string s = params[key].get<std::string>();
  if (s.size() > max_len) return invalid_argument(std::string(key) + " is longer than " + std::to_string(max_len) + " bytes");
  return s;
}

Result<restore::ComposeChoice> compose(const Json& params) {
  const std::string c = TRY(text(params, "compose", 16));
  if (c.empty()) return restore::ComposeChoice::kAuto;
  return TRY_CTX(restore::parse_compose_choice(c), "compose");
}

}  // namespace

Result<backup::BackupRequest> backup_request(const std::string& project, const Json& params) {
  TRY(only_known(params, "backup", {"targets", "safe_mode", "include_db_volumes", "hook_timeout_s", "reason"}));
  backup::BackupRequest r;
  r.project = project;
  if (has(params, "targets")) {
    if (!params["targets"].is_array()) return invalid_argument("targets must be a list of target names");
    for (const auto& t : params["targets"]) {
      if (!t.is_string() || t.get<std::string>().empty()) return invalid_argument("targets must be a list of target names");
      r.targets.push_back(t.get<std::string>());
    }
  }
  r.options.safe_mode = TRY(boolean(params, "safe_mode"));
  r.options.include_db_volumes = TRY(boolean(params, "include_db_volumes"));
  if (has(params, "hook_timeout_s")) {
    const Json& t = params["hook_timeout_s"];
    if (!t.is_number_integer() || t.get<int64_t>() < 1 || t.get<int64_t>() > 86400) {
      return invalid_argument("hook_timeout_s must be a whole number of seconds from 1 to 86400");
    }
    r.options.hook_timeout = std::chrono::seconds(t.get<int64_t>());
  }
  const std::string reason = TRY(text(params, "reason", 16));
  if (!reason.empty()) {
    if (reason != "manual" && reason != "schedule" && reason != "safety") {
      return invalid_argument("reason must be manual, schedule or safety");
    }
    r.reason = reason;
  }
  return r;
}

Json to_params(const backup::BackupRequest& r) {
  return Json{{"targets", r.targets},
              {"safe_mode", r.options.safe_mode},
              {"include_db_volumes", r.options.include_db_volumes},
              {"hook_timeout_s", r.options.hook_timeout.count()},
              {"reason", r.reason}};
}

Result<restore::RestoreRequest> restore_request(const std::string& backup_id, const std::string& backup_project,
                                                const Json& params) {
  TRY(only_known(params, "restore", {"as", "project", "to", "force", "no_safety_backup", "no_ports", "compose", "from"}));
  restore::RestoreRequest r;
  r.backup_id = backup_id;
  std::string as = TRY(text(params, "as", 255));
  const std::string project = TRY(text(params, "project", 255));
  if (!as.empty() && !project.empty() && as != project) return invalid_argument("as and project name different projects");
  if (as.empty()) as = project;
  if (as != backup_project) r.as_name = as;
  r.to_dir = TRY(text(params, "to"));
  if (!r.to_dir.empty() && r.to_dir.front() != '/') return invalid_argument("to must be an absolute path");
  r.force = TRY(boolean(params, "force"));
  r.no_safety_backup = TRY(boolean(params, "no_safety_backup"));
  r.no_ports = TRY(boolean(params, "no_ports"));
  if (r.no_ports && r.as_name.empty()) return invalid_argument("--no-ports (no_ports) applies to a copy only: give --as NAME (as) with a name other than " + backup_project);
  r.compose = TRY(compose(params));
  r.from_target = TRY(text(params, "from", 64));
  return r;
}

Json to_params(const restore::RestoreRequest& r) {
  Json j{{"force", r.force}, {"no_safety_backup", r.no_safety_backup}, {"no_ports", r.no_ports}};
  if (!r.as_name.empty()) j["as"] = r.as_name;
  if (!r.to_dir.empty()) j["to"] = r.to_dir;
  if (!r.from_target.empty()) j["from"] = r.from_target;
  if (r.compose != restore::ComposeChoice::kAuto) j["compose"] = std::string(restore::compose_choice_name(r.compose));
  return j;
}

std::string restore_project(const restore::RestoreRequest& r, const std::string& backup_project) {
  return r.as_name.empty() ? backup_project : r.as_name;
}

Result<restore::DrillRequest> drill_request(const std::string& backup_id, const Json& params) {
  TRY(only_known(params, "drill", {"compose", "reason"}));
  TRY(text(params, "reason", 16));
  return restore::DrillRequest{.backup_id = backup_id, .compose = TRY(compose(params))};
}

Json to_params(const restore::DrillRequest& r, std::string_view reason) {
  Json j{{"reason", reason}};
  if (r.compose != restore::ComposeChoice::kAuto) j["compose"] = std::string(restore::compose_choice_name(r.compose));
  return j;
}

Result<VerifyRequest> verify_request(const std::string& backup_id, const Json& params) {
  TRY(only_known(params, "verify", {"shallow"}));
  return VerifyRequest{.backup_id = backup_id, .shallow = TRY(boolean(params, "shallow"))};
}

Json to_params(const VerifyRequest& r) { return Json{{"shallow", r.shallow}}; }

Result<RepoCheckRequest> repo_check_request(const Json& params) {
  TRY(only_known(params, "repo-check", {"target", "deep", "read_data"}));
  RepoCheckRequest r{.target = TRY(text(params, "target", 64)), .deep = TRY(boolean(params, "deep"))};
  if (r.target.empty()) return invalid_argument("target is required: the repository target to check");
  if (params.contains("read_data")) {
    if (!params["read_data"].is_number()) return invalid_argument("read_data must be a number (percent)");
    r.read_data = params["read_data"].get<double>();
    if (!(r.read_data >= 0 && r.read_data <= 100)) return invalid_argument("read_data must be between 0 and 100");
  }
  return r;
}

Result<RepoGcRequest> repo_gc_request(const Json& params) {
  TRY(only_known(params, "repo-gc", {"target", "dry_run"}));
  RepoGcRequest r{.target = TRY(text(params, "target", 64)), .dry_run = TRY(boolean(params, "dry_run"))};
  if (r.target.empty()) return invalid_argument("target is required: the repository target to clean");
  return r;
}

Result<std::string> rebuild_request(const Json& params) {
  TRY(only_known(params, "rebuild", {"target"}));
  std::string target = TRY(text(params, "target", 64));
  if (target.empty()) return invalid_argument("target is required: the name of the target to read");
  return target;
}

}  // namespace stacksnap::app
