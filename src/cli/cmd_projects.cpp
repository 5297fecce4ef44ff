// stacksnap projects [NAME] [--json]: the Compose projects on the Docker Engine.
// Needs only the Engine (DOCKER_HOST honoured), not the data dir.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/sqlite_inventory.h"
#include "archive/verify.h"
#include "base/text.h"
#include "cli/globals.h"
#include "docker/client.h"
#include "stack/discovery.h"
#include "stack/model_json.h"

namespace stacksnap::cli {
namespace {

// A left-aligned text table with a header row.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& os, const std::string& indent) const {
    std::vector<size_t> width;
    for (const auto& r : rows_) {
      for (size_t i = 0; i < r.size(); ++i) {
        if (width.size() <= i) width.push_back(0);
        width[i] = std::max(width[i], display_width(r[i]));
      }
    }
    for (const auto& r : rows_) {
      std::string line = indent;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line += std::string(width[i] - display_width(r[i]) + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      os << line << "\n";
    }
  }

 private:
  static size_t display_width(const std::string& s) {  // UTF-8 code points
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  }
  std::vector<std::vector<std::string>> rows_;
};

void print_list(std::ostream& os, const std::string& title, const std::vector<std::string>& items) {
  constexpr size_t kTitleWidth = 14;
  std::string pad(2 + kTitleWidth, ' ');
  std::string head = "  " + title + std::string(title.size() < kTitleWidth ? kTitleWidth - title.size() : 1, ' ');
  if (items.empty()) {
    os << head << "-\n";
    return;
  }
  for (size_t i = 0; i < items.size(); ++i) os << (i == 0 ? head : pad) << items[i] << "\n";
}

void print_project(std::ostream& os, const stack::Project& p) {
  // "compose v2 2.26.1": which Compose created it (a restore drives the same one).
  std::string compose;
  if (!p.compose_version.empty()) {
    compose = ", compose " + (p.compose_flavour().empty() ? "" : p.compose_flavour() + " ") + p.compose_version;
  }
  os << "PROJECT " << p.name << "  (" << stack::project_state_name(p.state) << compose << ")\n";
  print_list(os, "working dir", {p.working_dir});
  std::vector<std::string> files;
  for (const auto& f : p.config_files) {
    const bool gone = std::find(p.missing_files.begin(), p.missing_files.end(), f) != p.missing_files.end();
    files.push_back(f + (gone ? "  (missing)" : ""));
  }
  for (const auto& f : p.include_files) files.push_back(f + "  (include)");
  print_list(os, "config files", files);
  print_list(os, "env files", p.env_files);
  os << "\n";

  Table services({"SERVICE", "STATE", "ENGINE", "DETECTED BY", "IMAGE", "CONTAINERS", "NOTES"});
  for (const auto& s : p.services) {
    std::vector<std::string> names, notes;
    for (const auto& c : s.containers) names.push_back(c.name + (c.state == "running" ? "" : " (" + c.state + ")"));
    if (s.excluded) notes.push_back("excluded");
    for (const auto& [k, v] : s.hooks) notes.push_back("hook " + k);
    services.add({s.name, s.running() ? "running" : "stopped", std::string(stack::engine_name(s.engine.engine)),
                  s.engine.source == stack::EngineSource::kDefault ? "-" : s.engine.evidence, s.image,
                  join(names, ", "), join(notes, ", ")});
  }
  services.print(os, "  ");
  os << "\n";

  if (p.volumes.empty()) {
    os << "  VOLUMES  none\n";
  } else {
    Table volumes({"VOLUME", "ENGINE NAME", "DRIVER", "USED BY", "NOTES"});
    for (const auto& v : p.volumes) {
      std::vector<std::string> users, notes;
      for (const auto& u : v.used_by) {
        users.push_back(u.service + ":" + u.destination + (u.read_only ? ":ro" : "") +
                        (u.subpath.empty() ? "" : " (subpath " + u.subpath + ")"));
      }
      if (v.external) notes.push_back("external");
      if (v.anonymous) notes.push_back("anonymous");
      if (v.excluded) notes.push_back("excluded");
      volumes.add({v.key.empty() ? "-" : v.key, v.name, v.driver, users.empty() ? "-" : join(users, ", "),
                   join(notes, ", ")});
    }
    volumes.print(os, "  ");
  }
  os << "\n";
  if (p.binds.empty()) {
    os << "  BIND MOUNTS  none\n";
  } else {
    Table binds({"BIND MOUNT (HOST PATH)", "CONTAINER PATH", "MODE", "SERVICES"});
    for (const auto& b : p.binds) {
      binds.add({b.host_path, b.container_path, b.read_only ? "ro" : "rw", join(b.services, ", ")});
    }
    binds.print(os, "  ");
  }
  if (!p.networks.empty()) {
    std::vector<std::string> nets;
    for (const auto& n : p.networks) nets.push_back(n.name + " (" + (n.external ? "external; " : "") + join(n.services, ", ") + ")");
    os << "\n";
    print_list(os, "networks", nets);
  }
  for (const auto& w : p.warnings) os << "  warning: " << w << "\n";
}

// The SQLite databases the next backup captures (app/sqlite_inventory.h).
void print_sqlite(std::ostream& os, const app::SqliteInventory& inv) {
  os << "\n";
  if (inv.databases.empty()) {
    os << "  SQLITE DATABASES  none found\n";
  } else {
    Table t({"SQLITE DATABASE", "IN", "SIZE", "JOURNAL", "USED BY", "CAPTURE"});
    for (const auto& d : inv.databases) {
      std::string journal = d.journal_mode.empty() ? "-" : d.journal_mode;
      if (d.has_wal) journal += " (+wal)";
      if (d.has_journal) journal += " (+journal)";
      t.add({d.path.empty() ? "(the file itself)" : d.path, d.tree + " " + d.source, human_bytes(d.bytes), journal,
             join(d.used_by, ", "), d.capture == "online-backup" ? "snapshot" : "plain files: " + d.reason});
    }
    t.print(os, "  ");
  }
  for (const auto& n : inv.notes) os << "  note: " << n << "\n";
}

Status run_projects(const std::string& name, bool json) {
  auto docker = TRY(docker::Client::connect());
  std::vector<stack::Project> projects;
  if (name.empty()) {
    projects = TRY(stack::discover_projects(*docker));
  } else {
    projects.push_back(TRY(stack::discover_project(*docker, name)));
  }
  if (json) {
    nlohmann::ordered_json out = {
        {"schema", stack::kProjectsSchema},
        {"engine",
         {{"endpoint", docker->endpoint().uri},
          {"version", docker->engine_version().version},
          {"api_version", docker->api_version().to_string()}}},
        {"projects", nlohmann::ordered_json::array()},
    };
    for (const auto& p : projects) out["projects"].push_back(app::project_json(*docker, p));
    std::cout << out.dump(2) << "\n";
    return {};
  }
  if (projects.empty()) {
    std::cout << "No Compose projects on the Docker Engine at " << docker->endpoint().uri << ".\n";
    return {};
  }
  for (size_t i = 0; i < projects.size(); ++i) {
    if (i > 0) std::cout << "\n";
    print_project(std::cout, projects[i]);
    print_sqlite(std::cout, app::find_sqlite_databases(*docker, projects[i]));
  }
  return {};
}

}  // namespace

void add_projects_command(CLI::App& root, Globals& g) {
  auto* cmd = root.add_subcommand("projects", "List the Compose projects on the Docker Engine");
  auto name = std::make_shared<std::string>();
  cmd->add_option("NAME", *name, "Show only this project");
  cmd->add_flag("--json", g.json, "Machine-readable output (schema in docs/CLI.md)");
  cmd->callback([&g, name] { g.result = run_projects(*name, g.json); });
}

}  // namespace stacksnap::cli
