#include "stack/model.h"

#include <algorithm>

namespace stacksnap::stack {

std::string_view engine_name(Engine e) {
  switch (e) {
    case Engine::kNone: return "none";
    case Engine::kPostgres: return "postgres";
    case Engine::kMysql: return "mysql";
    case Engine::kRedis: return "redis";
  }
  return "none";
}

std::optional<Engine> parse_engine(std::string_view s) {
  if (s == "none") return Engine::kNone;
  if (s == "postgres" || s == "postgresql") return Engine::kPostgres;
  if (s == "mysql" || s == "mariadb") return Engine::kMysql;
  if (s == "redis") return Engine::kRedis;
  return std::nullopt;
}

std::string_view engine_source_name(EngineSource s) {
  switch (s) {
    case EngineSource::kDefault: return "default";
    case EngineSource::kLabel: return "label";
    case EngineSource::kImage: return "image";
    case EngineSource::kProcess: return "process";
  }
  return "default";
}

std::string_view mount_type_name(MountType t) {
  switch (t) {
    case MountType::kVolume: return "volume";
    case MountType::kBind: return "bind";
    case MountType::kTmpfs: return "tmpfs";
    case MountType::kOther: return "other";
  }
  return "other";
}

std::string_view project_state_name(ProjectState s) {
  switch (s) {
    case ProjectState::kRunning: return "running";
    case ProjectState::kPartial: return "partial";
    case ProjectState::kStopped: return "stopped";
  }
  return "stopped";
}

std::string compose_flavour_of(std::string_view v) {
  size_t i = 0;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
  if (i == 0 || i >= v.size() || v[i] != '.') return "";
  int major = 0;
  for (size_t k = 0; k < i && major < 1000; ++k) major = major * 10 + (v[k] - '0');
  if (major == 1) return "v1";
  return major >= 2 ? "v2" : "";
}

std::string Project::compose_flavour() const { return compose_flavour_of(compose_version); }

bool Service::running() const {
  return std::any_of(containers.begin(), containers.end(),
                     [](const Container& c) { return c.state == "running" || c.state == "paused"; });
}

const Service* Project::find_service(std::string_view n) const {
  for (const auto& s : services) {
    if (s.name == n) return &s;
  }
  return nullptr;
}

const Volume* Project::find_volume(std::string_view key_or_name) const {
  for (const auto& v : volumes) {
    if (!v.key.empty() && v.key == key_or_name) return &v;
  }
  for (const auto& v : volumes) {
    if (v.name == key_or_name) return &v;
  }
  return nullptr;
}

}  // namespace stacksnap::stack
