#include "restore/teardown.h"

#include <filesystem>

#include "restore/compose.h"
#include "restore/restore.h"

namespace stacksnap::restore {

namespace fs = std::filesystem;

nlohmann::json remove_project(docker::Client& docker, const std::string& project, const std::string& working_dir,
                              const std::string& compose_cache, job::Context& ctx) {
  nlohmann::json log = nlohmann::json::array();
  const std::string file = sandbox_compose_path(working_dir);
  std::error_code ec;
  if (!working_dir.empty() && fs::exists(file, ec)) {
    auto tool = find_compose(compose_cache);
    if (tool.ok()) {
      Compose c(*tool, {.name = project, .working_dir = working_dir, .files = {file}});
      c.set_line_sink([&ctx](const std::string& line) { ctx.log(job::Level::kDebug, line, "teardown"); });
      auto st = c.down_with_volumes(StopToken{});  // runs even when the job was cancelled
      log.push_back(st.ok() ? "compose down -v" : "compose down -v failed: " + st.error().message());
    }
  }
  const std::string label = "com.docker.compose.project=" + project;
  if (auto cs = docker.list_containers({.all = true, .labels = {label}}); cs.ok()) {
    for (const auto& c : *cs) {
      auto st = docker.remove_container(c.id, {.force = true, .remove_volumes = true});
      log.push_back(st.ok() ? "removed container " + c.name : "remove container " + c.name + ": " + st.error().message());
    }
  }
  if (auto vs = docker.list_volumes({label}); vs.ok()) {
    for (const auto& v : *vs) {
      auto st = docker.remove_volume(v.name, true);
      log.push_back(st.ok() ? "removed volume " + v.name : "remove volume " + v.name + ": " + st.error().message());
    }
  }
  if (auto ns = docker.list_networks({label}); ns.ok()) {
    for (const auto& n : *ns) {
      auto st = docker.remove_network(n.id);
      log.push_back(st.ok() ? "removed network " + n.name : "remove network " + n.name + ": " + st.error().message());
    }
  }
  return log;
}

}  // namespace stacksnap::restore
