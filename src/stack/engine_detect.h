// Which database engine a service runs, in this order (issue #2):
//   1. the label stacksnap.engine=postgres|mysql|redis|none;
//   2. the image name (its last path component, without tag or digest):
//      postgres, postgresql, postgis, pgvector, timescaledb…, mysql, mariadb,
//      percona…, redis, redis-stack, valkey, keydb…;
//   3. the server process running in the container (Engine `top`): the executable
//      basename of each process — comm, or argv[0] with a trailing ':' stripped —
//      is postgres/postmaster, mysqld/mariadbd, redis-server/valkey-server/keydb-server.
// A container that merely ships a client (pg_dump, redis-cli) is not a database.
// Pure functions; discovery supplies the `top` result.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker/types.h"
#include "stack/model.h"

namespace stacksnap::stack {

// "ghcr.io/acme/postgres:16@sha256:…" → "postgres".
std::string image_base_name(std::string_view image);

std::optional<Engine> engine_from_image(std::string_view image);
// The executable basename that names a server process, if any process in `top` is one.
std::optional<std::pair<Engine, std::string>> engine_from_processes(const docker::TopResult& top);

// `top` is called only when neither the label nor the image decides (and may return
// nullopt, e.g. for a stopped container). An unknown label value adds a warning and
// is ignored.
EngineDetection detect_engine(const Labels& labels, std::string_view image,
                              const std::function<std::optional<docker::TopResult>()>& top,
                              std::vector<std::string>* warnings);

// The ps_args discovery passes to `top`: PID (required by the Engine), comm, args.
inline constexpr std::string_view kTopPsArgs = "-o pid,comm,args";

}  // namespace stacksnap::stack
