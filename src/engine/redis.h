// Redis (and Valkey/KeyDB): a point-in-time RDB through `redis-cli --rdb -` (the
// replication snapshot), or BGSAVE and a copy of the file where --rdb is unavailable.
// Auth via REDISCLI_AUTH from `--requirepass` in the command, a config file named in
// the command, or REDIS_PASSWORD. Key counts come from the RDB itself (RESIZEDB).
// Restore: stop the container, put dump.rdb into its data dir, start it.
#pragma once

#include <optional>

#include "engine/engine.h"

namespace stacksnap::engine {

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

// Reads the start of an RDB stream: version, and for the first database its number and
// key/expire counts (RESIZEDB). Bounded memory; ignores everything after.
class RdbScanner final : public Writer {
 public:
  Status write(Bytes data) override;
  struct Db {
    int64_t number = -1;
    int64_t keys = -1;
    int64_t expires = -1;
  };
  // Set once the first RESIZEDB was read; nullopt for an empty RDB or an unexpected layout.
  std::optional<Db> first_db() const { return first_; }
  bool valid_magic() const { return magic_ok_; }
  // True when the stream ended right after the header (no database at all: 0 keys).
  bool empty_rdb() const { return saw_eof_opcode_ && !first_; }

 private:
  void parse();
  std::string buf_;
  bool done_ = false;
  bool magic_ok_ = false;
  bool saw_eof_opcode_ = false;
  std::optional<Db> first_;
  static constexpr size_t kMaxHeader = 64 * 1024;
};

// Extracts the password from a redis-server command line (--requirepass X).
std::optional<std::string> requirepass_from_args(const std::vector<std::string>& args);
// "db0:keys=5,expires=0,avg_ttl=0" lines of INFO keyspace → counts per db.
std::vector<TableCount> parse_keyspace(const std::string& info);

}  // namespace stacksnap::engine
