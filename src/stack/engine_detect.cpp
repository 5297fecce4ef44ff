#include "stack/engine_detect.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace stacksnap::stack {
namespace {

struct NameRule {
  std::string_view name;
  Engine engine;
};

// Image base names (exact match: "redis-commander" or "postgres-exporter" are not databases).
constexpr std::array kImageNames{
    NameRule{"postgres", Engine::kPostgres},       NameRule{"postgresql", Engine::kPostgres},
    NameRule{"postgis", Engine::kPostgres},        NameRule{"pgvector", Engine::kPostgres},
    NameRule{"pgvecto-rs", Engine::kPostgres},     NameRule{"timescaledb", Engine::kPostgres},
    NameRule{"timescaledb-ha", Engine::kPostgres}, NameRule{"timescaledb-postgis", Engine::kPostgres},
    NameRule{"citus", Engine::kPostgres},          NameRule{"paradedb", Engine::kPostgres},
    NameRule{"pgautoupgrade", Engine::kPostgres},
    NameRule{"mysql", Engine::kMysql},             NameRule{"mysql-server", Engine::kMysql},
    NameRule{"mariadb", Engine::kMysql},           NameRule{"alpine-mariadb", Engine::kMysql},
    NameRule{"percona", Engine::kMysql},           NameRule{"percona-server", Engine::kMysql},
    NameRule{"redis", Engine::kRedis},             NameRule{"redis-stack", Engine::kRedis},
    NameRule{"redis-stack-server", Engine::kRedis}, NameRule{"valkey", Engine::kRedis},
    NameRule{"keydb", Engine::kRedis},
};

// Server executables (not clients: pg_dump, psql, mysql, redis-cli are absent on purpose).
constexpr std::array kProcessNames{
    NameRule{"postgres", Engine::kPostgres},   NameRule{"postmaster", Engine::kPostgres},
    NameRule{"mysqld", Engine::kMysql},        NameRule{"mariadbd", Engine::kMysql},
    NameRule{"redis-server", Engine::kRedis},  NameRule{"valkey-server", Engine::kRedis},
    NameRule{"keydb-server", Engine::kRedis},
};

template <size_t N>
std::optional<Engine> lookup(const std::array<NameRule, N>& rules, std::string_view name) {
  for (const auto& r : rules) {
    if (r.name == name) return r.engine;
  }
  return std::nullopt;
}

// First word of a command column, as an executable basename: "/usr/lib/postgresql/15/bin/postgres -D x"
// → "postgres"; "postgres: checkpointer" → "postgres".
std::string executable_basename(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  s = s.substr(0, s.find(' '));
  if (auto slash = s.rfind('/'); slash != std::string_view::npos) s.remove_prefix(slash + 1);
  while (!s.empty() && s.back() == ':') s.remove_suffix(1);
  return std::string(s);
}

bool is_command_title(std::string_view t) {
  return t == "COMMAND" || t == "CMD" || t == "COMM" || t == "ARGS" || t == "UCOMM" || t == "UCMD";
}

}  // namespace

std::string image_base_name(std::string_view image) {
  if (auto at = image.find('@'); at != std::string_view::npos) image = image.substr(0, at);
  if (auto slash = image.rfind('/'); slash != std::string_view::npos) image.remove_prefix(slash + 1);
  if (auto colon = image.find(':'); colon != std::string_view::npos) image = image.substr(0, colon);
  std::string out(image);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::optional<Engine> engine_from_image(std::string_view image) {
  if (image.starts_with("sha256:")) return std::nullopt;
  return lookup(kImageNames, image_base_name(image));
}

std::optional<std::pair<Engine, std::string>> engine_from_processes(const docker::TopResult& top) {
  std::vector<size_t> columns;
  for (size_t i = 0; i < top.titles.size(); ++i) {
    if (is_command_title(top.titles[i])) columns.push_back(i);
  }
  for (const auto& proc : top.processes) {
    for (size_t c : columns) {
      if (c >= proc.size()) continue;
      std::string exe = executable_basename(proc[c]);
      if (auto e = lookup(kProcessNames, exe)) return std::make_pair(*e, exe);
    }
  }
  return std::nullopt;
}

EngineDetection detect_engine(const Labels& labels, std::string_view image,
                              const std::function<std::optional<docker::TopResult>()>& top,
                              std::vector<std::string>* warnings) {
  if (auto it = labels.find(std::string(kLabelEngine)); it != labels.end()) {
    if (auto e = parse_engine(it->second)) {
      return {*e, EngineSource::kLabel, "label " + std::string(kLabelEngine) + "=" + it->second};
    }
    if (warnings) {
      warnings->push_back("ignoring label " + std::string(kLabelEngine) + "=" + it->second +
                          " (expected postgres, mysql, redis or none)");
    }
  }
  if (auto e = engine_from_image(image)) return {*e, EngineSource::kImage, "image " + std::string(image)};
  if (top) {
    if (auto t = top()) {
      if (auto p = engine_from_processes(*t)) return {p->first, EngineSource::kProcess, "process " + p->second};
    }
  }
  return {};
}

}  // namespace stacksnap::stack
