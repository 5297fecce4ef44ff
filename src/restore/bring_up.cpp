#include "restore/bring_up.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <thread>

#include "base/clock.h"

namespace stacksnap::restore {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<std::string> strings_of(const Json& plan, const char* key) {
  std::vector<std::string> out;
  if (auto it = plan.find(key); it != plan.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

// Health or state worth a line: "app: unhealthy (last check: …)".
std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.size() > 200) s = s.substr(0, 200) + "…";
  return s;
}

}  // namespace

Status check_compose_files(const Json& plan, const Placement& placement, const std::string& backup_id) {
  std::set<std::string> in_backup;
  for (const auto& c : placement.configs) in_backup.insert(c.source_path);
  std::vector<std::string> needed = strings_of(plan, "config_files");
  for (const auto& f : strings_of(plan, "missing_config")) {
    if (std::find(needed.begin(), needed.end(), f) == needed.end()) needed.push_back(f);
  }
  std::vector<std::string> missing;
  for (const auto& f : needed) {
    if (in_backup.count(f)) continue;
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) missing.push_back(f);
  }
  if (missing.empty()) return {};
  return failed_precondition(
      "backup " + backup_id + " of project " + placement.source_project + " holds no copy of " +
      (missing.size() == 1 ? "its compose file " : "its compose files ") + join(missing, ", ") +
      " (not on the host when the backup was made) and " + (missing.size() == 1 ? "it is" : "they are") +
      " not on this host now. Put " + (missing.size() == 1 ? "it" : "them") +
      " back at that path (from version control, another copy…) and run the restore again; the backup's "
      "volumes and database dumps can also be taken out without " + (missing.size() == 1 ? "it" : "them") +
      ": `stacksnap extract`. Nothing was changed.");
}

Result<std::vector<std::string>> ensure_external_networks(docker::Client& docker, const Json& plan,
                                                          job::Context& ctx) {
  std::vector<std::string> created;
  auto it = plan.find("external_networks");
  if (it == plan.end() || !it->is_array()) return created;
  for (const auto& n : *it) {
    const std::string name = n.value("name", "");
    if (name.empty()) continue;
    auto have = docker.inspect_network(name);
    if (have.ok()) continue;
    if (have.error().code() != Code::kNotFound) return std::move(have).error();
    const std::string driver = n.value("driver", "");
    TRY_CTX(docker.create_network({.name = name,
                                   .driver = driver == "bridge" ? "" : driver,
                                   .labels = {{"org.stacksnap.created-by", "restore"}}}),
            "create the external network " + name);
    ctx.info("created the external network " + name + (driver.empty() ? "" : " (driver " + driver + ")") +
                 ": the project expects it and this host had none",
             "networks");
    created.push_back(name);
  }
  return created;
}

ServicesToStart services_to_start(const Json& plan) {
  ServicesToStart out;
  auto it = plan.find("services");
  if (it == plan.end() || !it->is_object()) return out;
  for (const auto& [name, s] : it->items()) {
    if (!s.is_object()) continue;
    const auto c = s.find("containers");
    if (c == s.end() || !c->is_array() || c->empty()) continue;  // an inactive profile, or never created
    out.all.push_back(name);
    if (s.value("running", false)) out.running.insert(name);
  }
  return out;
}

Status wait_until_healthy(docker::Client& docker, const std::string& project, const std::vector<std::string>& services,
                          const std::set<std::string>& must_run, std::chrono::seconds timeout, job::Context& ctx) {
  const double deadline = monotonic_seconds() + static_cast<double>(timeout.count());
  std::map<std::string, std::string> waiting;  // service → why, from the last look
  for (;;) {
    waiting.clear();
    std::vector<std::string> stopped;  // containers that exited: nothing brings them back
    auto list = TRY(docker.list_containers({.all = true, .labels = {"com.docker.compose.project=" + project}}));
    std::map<std::string, std::vector<docker::ContainerInfo>> by_service;
    for (const auto& c : list) {
      auto svc = c.labels.find("com.docker.compose.service");
      auto oneoff = c.labels.find("com.docker.compose.oneoff");
      if (svc == c.labels.end() || (oneoff != c.labels.end() && oneoff->second == "True")) continue;
      if (std::find(services.begin(), services.end(), svc->second) == services.end()) continue;
      auto info = docker.inspect_container(c.id);
      if (!info.ok()) {
        if (info.error().code() == Code::kNotFound) continue;  // replaced meanwhile
        return std::move(info).error();
      }
      by_service[svc->second].push_back(std::move(*info));
    }
    for (const auto& svc : services) {
      const auto& cs = by_service[svc];
      const bool need_running = must_run.count(svc) > 0;
      if (cs.empty()) {
        if (need_running) waiting[svc] = "no container";
        continue;
      }
      for (const auto& c : cs) {
        if (!c.state.running) {
          if (!need_running) continue;
          waiting[svc] = c.name + " is " + c.state.status;
          if (c.state.status == "exited" || c.state.status == "dead") {
            stopped.push_back(svc + ": " + c.name + " exited with code " + std::to_string(c.state.exit_code) +
                              " (docker logs " + c.name + ")");
          }
          continue;
        }
        if (!c.state.health.empty() && c.state.health != "healthy") {
          std::string why = c.name + " is " + c.state.health;
          if (!c.state.health_output.empty()) why += " (last check: " + one_line(c.state.health_output) + ")";
          waiting[svc] = why;
        }
      }
    }
    if (waiting.empty()) {
      std::vector<std::string> healthy, running;
      for (const auto& svc : services) {
        for (const auto& c : by_service[svc]) {
          if (c.state.health == "healthy") healthy.push_back(svc);
          else if (c.state.running) running.push_back(svc);
        }
      }
      std::string msg;
      if (!healthy.empty()) msg = "healthy: " + join(healthy, ", ");
      if (!running.empty()) msg += std::string(msg.empty() ? "" : "; ") + "running (no healthcheck): " + join(running, ", ");
      if (!msg.empty()) ctx.info(msg);
      return {};
    }
    if (!stopped.empty()) {
      return failed_precondition("project " + project + " did not come up: " + join(stopped, "; "));
    }
    TRY(check_cancel(ctx.stop(), "waiting for " + project + " to become healthy"));
    if (monotonic_seconds() >= deadline) {
      std::vector<std::string> lines;
      for (const auto& [svc, why] : waiting) lines.push_back(svc + ": " + why);
      return deadline_exceeded("project " + project + " did not become healthy within " +
                               std::to_string(timeout.count()) + " s: " + join(lines, "; "));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace stacksnap::restore
