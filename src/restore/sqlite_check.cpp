#include "restore/sqlite_check.h"

#include "docker/host_path.h"
#include "sqlite/check.h"

namespace stacksnap::restore {

namespace {

using Json = nlohmann::json;

struct Tree {
  std::string what;  // "volume drill-x_data" / "bind mount /srv/x"
  docker::MountSpec::Type type;
  std::string source;  // volume name / host path, as restored
  const Json* records;
};

}  // namespace

bool has_sqlite_records(const archive::Manifest& manifest) {
  for (const auto* m : {&manifest.volumes, &manifest.binds}) {
    for (const auto& [name, j] : *m) {
      if (j.is_object() && j.contains("sqlite")) return true;
    }
  }
  return false;
}

Result<SqliteCheck> check_restored_sqlite(docker::Client& docker, const Placement& placement,
                                          const archive::Manifest& manifest, job::Context& ctx) {
  std::vector<Tree> trees;
  auto records_of = [](const std::map<std::string, Json>& m, const std::string& key) -> const Json* {
    auto it = m.find(key);
    if (it == m.end() || !it->second.is_object() || !it->second.contains("sqlite")) return nullptr;
    return &it->second["sqlite"];
  };
  for (const auto& v : placement.volumes) {
    if (const Json* r = records_of(manifest.volumes, v.source_name)) {
      trees.push_back({"volume " + v.name, docker::MountSpec::Type::kVolume, v.name, r});
    }
  }
  for (const auto& b : placement.binds) {
    if (const Json* r = records_of(manifest.binds, std::to_string(b.index))) {
      trees.push_back({"bind mount " + b.host_path, docker::MountSpec::Type::kBind, b.host_path, r});
    }
  }

  const docker::HostPaths host_paths(docker);
  SqliteCheck out;
  for (const auto& t : trees) {
    if (!t.records->is_array()) return data_loss("manifest: the SQLite records of " + t.what + " are not a list");
    const docker::HostPath host = host_paths.of(t.type, t.source);
    for (const auto& record : *t.records) {
      auto facts = TRY(sqlite::DatabaseFacts::from_json(record));
      const std::string name = t.what + ": " + (facts.path.empty() ? "(the file itself)" : facts.path);
      Json row = {{"where", t.what}, {"path", facts.path}, {"mechanism", facts.mechanism}, {"checked", false}};
      if (facts.mechanism != sqlite::kMechanismBackup) {
        row["reason"] = facts.reason;
        out.databases.push_back(std::move(row));
        continue;
      }
      if (host.path.empty()) {
        ctx.warn("SQLite " + name + " not checked: " + host.reason, "check-sqlite");
        row["reason"] = host.reason;
        out.databases.push_back(std::move(row));
        continue;
      }
      auto r = sqlite::check_restored(host.path, facts.path, facts);
      std::vector<std::string> problems;
      if (!r.ok()) {
        problems.push_back(r.error().message());
      } else {
        problems = r->problems;
        row["integrity"] = r->integrity;
        row["tables"] = r->tables;
      }
      row["checked"] = true;
      row["problems"] = problems;
      for (const auto& p : problems) out.problems.push_back("SQLite " + name + ": " + p);
      if (problems.empty()) {
        ctx.info("SQLite " + name + ": integrity ok, " + std::to_string(facts.tables.size()) +
                     " table(s) with the row counts of the capture",
                 "check-sqlite");
      }
      out.databases.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace stacksnap::restore
