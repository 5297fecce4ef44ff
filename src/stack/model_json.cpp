#include "stack/model_json.h"

namespace stacksnap::stack {

using json = nlohmann::ordered_json;

namespace {

json stacksnap_labels(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) {
    if (k.starts_with("stacksnap.")) out[k] = v;
  }
  return out;
}

}  // namespace

json to_json(const Project& p) {
  json services = json::array();
  for (const auto& s : p.services) {
    json containers = json::array();
    for (const auto& c : s.containers) {
      containers.push_back({{"id", c.id}, {"name", c.name}, {"state", c.state}, {"image", c.image},
                            {"image_id", c.image_id}, {"health", c.health}});
    }
    json mounts = json::array();
    for (const auto& m : s.mounts) {
      mounts.push_back({{"type", mount_type_name(m.type)}, {"source", m.source}, {"destination", m.destination},
                        {"read_only", m.read_only}});
    }
    services.push_back({
        {"name", s.name},
        {"image", s.image},
        {"state", s.running() ? "running" : "stopped"},
        {"engine", engine_name(s.engine.engine)},
        {"engine_detected_by", engine_source_name(s.engine.source)},
        {"engine_evidence", s.engine.evidence},
        {"excluded", s.excluded},
        {"hooks", s.hooks},
        {"volume_exclude", s.volume_exclude},
        {"volume_include", s.volume_include},
        {"env_files", s.env_files},
        {"labels", stacksnap_labels(s.labels)},
        {"containers", std::move(containers)},
        {"mounts", std::move(mounts)},
    });
  }
  json volumes = json::array();
  for (const auto& v : p.volumes) {
    json used = json::array();
    for (const auto& u : v.used_by) {
      json use = {{"service", u.service}, {"destination", u.destination}, {"read_only", u.read_only}};
      if (!u.subpath.empty()) use["subpath"] = u.subpath;
      used.push_back(std::move(use));
    }
    volumes.push_back({{"key", v.key}, {"name", v.name}, {"external", v.external}, {"anonymous", v.anonymous},
                       {"driver", v.driver}, {"driver_opts", v.driver_opts}, {"labels", v.labels},
                       {"excluded", v.excluded}, {"used_by", std::move(used)}});
  }
  json binds = json::array();
  for (const auto& b : p.binds) {
    binds.push_back({{"host_path", b.host_path}, {"container_path", b.container_path}, {"read_only", b.read_only},
                     {"services", b.services}});
  }
  json networks = json::array();
  for (const auto& n : p.networks) {
    networks.push_back({{"name", n.name}, {"key", n.key}, {"external", n.external}, {"driver", n.driver},
                        {"services", n.services}});
  }
  return {
      {"name", p.name},
      {"state", project_state_name(p.state)},
      {"working_dir", p.working_dir},
      {"compose_version", p.compose_version},
      {"compose_flavour", p.compose_flavour()},
      {"config_files", p.config_files},
      {"include_files", p.include_files},
      {"missing_files", p.missing_files},
      {"env_files", p.env_files},
      {"environment_file", p.environment_file},
      {"services", std::move(services)},
      {"volumes", std::move(volumes)},
      {"binds", std::move(binds)},
      {"networks", std::move(networks)},
      {"warnings", p.warnings},
  };
}

}  // namespace stacksnap::stack
