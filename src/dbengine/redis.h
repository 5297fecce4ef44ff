// Redis (and Valkey/KeyDB): a point-in-time RDB through `redis-cli --rdb -` (the
// replication snapshot; the server's repl-diskless-sync-delay is set to 0 for the
// moment it takes, so that it starts at once), or BGSAVE and a copy of the file where
// --rdb is unavailable. Auth via REDISCLI_AUTH from `--requirepass` in the command, a
// config file named in the command, or REDIS_PASSWORD. Key counts per logical database
// come from walking the RDB itself (engine/rdb_scan.h): exact, with keys that carry a TTL
// as the tolerance a restore may lack.
//
// Restore: stop the container, put the RDB into its data dir, start it. With AOF on
// (`appendonly yes`), the server would ignore an RDB and start from its AOF, so the RDB
// becomes the base of a fresh AOF instead: Redis 7's multi-part AOF gets
// `<appenddirname>/<appendfilename>.1.base.rdb`, an empty `.1.incr.aof` and a manifest
// naming both; older servers get the RDB as their single AOF file (an AOF with an RDB
// preamble). The old AOF is removed first (with AOF switched off for that moment). The
// server comes back with `appendonly yes` and the data in its AOF, so it survives any
// later restart.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dbengine/engine.h"

namespace stacksnap::dbengine {

class RedisEngine final : public Engine {
 public:
  std::string name() const override { return "redis"; }
  Result<DumpInfo> dump(Executor& ex, const ContainerFacts& facts, DumpSink& sink, job::Context& ctx) override;
  Status wait_ready(Executor& ex, const ContainerFacts& facts, std::chrono::seconds timeout,
                    job::Context& ctx) override;
  Status restore(Executor& ex, ContainerControl& ctl, const ContainerFacts& facts, const DumpInfo& info,
                 DumpSource& src, job::Context& ctx) override;
  Result<std::vector<TableCount>> count_rows(Executor& ex, const ContainerFacts& facts, job::Context& ctx) override;
};

// Extracts the password from a redis-server command line (--requirepass X).
std::optional<std::string> requirepass_from_args(const std::vector<std::string>& args);
// "db0:keys=5,expires=0,avg_ttl=0" lines of INFO keyspace → counts per db.
std::vector<TableCount> parse_keyspace(const std::string& info);

// The length of the RDB itself in a dump of `total` bytes whose last bytes are `tail` (up
// to 49): `redis-cli --rdb -` ends its output with the 40-character end mark of a
// diskless transfer after the RDB's EOF opcode and checksum (it truncates a file, but
// cannot truncate stdout). A server ignores bytes after an RDB, but not after an AOF base.
uint64_t rdb_length(uint64_t total, std::string_view tail);
inline constexpr size_t kRdbTailBytes = 49;  // EOF opcode + 8-byte checksum + 40-byte mark

// The files a restore puts into the data dir of a server whose config says `appendonly`
// (see above): `appenddirname` empty for servers without multi-part AOF (Redis < 7).
// InvalidArgument for file names that Redis's manifest could not name plainly.
struct AofLayout {
  std::string base;      // the RDB goes here (relative to the data dir)
  std::string incr;      // empty: none
  std::string manifest;  // empty: none
  std::string manifest_text;
  std::string dir;       // a directory to create first; empty: none
};
Result<AofLayout> aof_layout(const std::string& appendfilename, const std::string& appenddirname);
}  // namespace stacksnap::dbengine
