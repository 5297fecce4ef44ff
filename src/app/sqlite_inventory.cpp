#include "app/sqlite_inventory.h"

#include "backup/plan.h"
#include "backup/sqlite_capture.h"
#include "docker/host_path.h"
#include "stack/model_json.h"

namespace stacksnap::app {

namespace {

struct Tree {
  std::string kind;  // "volume" | "bind"
  std::string source;
  docker::MountSpec::Type type;
  backup::SqliteCaptureOptions options;
  std::vector<std::string> users;  // "service:/destination"
};

std::string join_path(const std::string& root, const std::string& rel) { return rel.empty() ? root : root + "/" + rel; }

}  // namespace

SqliteInventory find_sqlite_databases(docker::Client& docker, const stack::Project& project,
                                      const sqlite::ScanLimits& limits) {
  SqliteInventory out;
  auto plan = backup::make_plan(project, {});
  if (!plan.ok()) return out;  // nothing would be backed up
  std::vector<Tree> trees;
  for (const auto& v : plan->volumes) {
    Tree t{"volume", v.name, docker::MountSpec::Type::kVolume, {.exclude = v.sqlite_exclude, .include = v.sqlite_include}, {}};
    for (const auto& u : v.used_by) {
      t.options.container_roots.push_back(u.destination);
      t.users.push_back(u.service + ":" + u.destination);
    }
    trees.push_back(std::move(t));
  }
  for (const auto& b : plan->binds) {
    Tree t{"bind", b.host_path, docker::MountSpec::Type::kBind,
           {.exclude = b.sqlite_exclude, .include = b.sqlite_include, .container_roots = {b.container_path}}, {}};
    for (const auto& s : b.services) t.users.push_back(s + ":" + b.container_path);
    trees.push_back(std::move(t));
  }
  const docker::HostPaths host_paths(docker);
  for (auto& t : trees) {
    const std::string what = t.kind + " " + t.source;
    t.options.tree = host_paths.of(t.type, t.source);
    if (t.options.tree.path.empty()) {
      out.notes.push_back(what + ": not searched for SQLite databases: " + t.options.tree.reason);
      continue;
    }
    auto scan = sqlite::scan_tree(t.options.tree.path, limits);
    if (!scan.ok()) {
      out.notes.push_back(what + ": not searched for SQLite databases: " + scan.error().message());
      continue;
    }
    if (scan->truncated) {
      out.notes.push_back(what + ": search stopped after " + std::to_string(scan->entries) + " entries (at most " +
                          std::to_string(limits.max_entries) + " per tree, " + std::to_string(limits.max_depth) +
                          " levels deep); the backup still recognises every database");
    }
    for (const auto& d : scan->databases) {
      SqliteFound f{.tree = t.kind, .source = t.source, .path = d.path, .bytes = d.bytes,
                    .journal_mode = d.journal_mode, .has_wal = d.has_wal, .has_journal = d.has_journal};
      for (size_t i = 0; i < t.users.size(); ++i) {
        const std::string& root = t.options.container_roots[std::min(i, t.options.container_roots.size() - 1)];
        f.used_by.push_back(t.users[i].substr(0, t.users[i].find(':')) + ":" + join_path(root, d.path));
      }
      f.reason = backup::sqlite_fallback_reason(t.options, d.path);
      f.capture = f.reason.empty() ? "online-backup" : "files";
      out.databases.push_back(std::move(f));
    }
  }
  return out;
}

nlohmann::ordered_json to_json(const SqliteInventory& inv) {
  nlohmann::ordered_json dbs = nlohmann::ordered_json::array();
  for (const auto& d : inv.databases) {
    nlohmann::ordered_json j = {{"tree", d.tree},
                                {"source", d.source},
                                {"path", d.path},
                                {"bytes", d.bytes},
                                {"journal_mode", d.journal_mode},
                                {"has_wal", d.has_wal},
                                {"has_journal", d.has_journal},
                                {"used_by", d.used_by},
                                {"capture", d.capture}};
    if (!d.reason.empty()) j["reason"] = d.reason;
    dbs.push_back(std::move(j));
  }
  return {{"databases", dbs}, {"notes", inv.notes}};
}

nlohmann::ordered_json project_json(docker::Client& docker, const stack::Project& project) {
  auto j = stack::to_json(project);
  j["sqlite"] = to_json(find_sqlite_databases(docker, project));
  return j;
}

}  // namespace stacksnap::app
