// PostgreSQL: pg_dumpall --globals-only + pg_dump -Fc per database, each database
// dumped inside an exported snapshot that also served to count its rows, so the
// counts describe the dump exactly. Connects over TCP to 127.0.0.1 inside the
// container (password auth, as the official image requires), falling back to the
// local socket only for dumps when TCP is refused.
#pragma once

#include "engine/engine.h"

namespace stacksnap::engine {

class PostgresEngine final : public Engine {
 public:
  std::string name() const override { return "postgres"; }
  Result<DumpInfo> dump(Executor& ex, const ContainerFacts& facts, DumpSink& sink, job::Context& ctx) override;
  Status wait_ready(Executor& ex, const ContainerFacts& facts, std::chrono::seconds timeout,
                    job::Context& ctx) override;
  Status restore(Executor& ex, ContainerControl& ctl, const ContainerFacts& facts, const DumpInfo& info,
                 DumpSource& src, job::Context& ctx) override;
  Result<std::vector<TableCount>> count_rows(Executor& ex, const ContainerFacts& facts, job::Context& ctx) override;
};

// The query that lists "schema.table|rows" for every ordinary table of the current
// database (partitions counted per leaf, system schemas excluded).
extern const char* const kPgCountQuery;
// Parses "schema.table|rows" lines into counts for `database`.
Result<std::vector<TableCount>> parse_pg_counts(const std::string& database, const std::vector<std::string>& lines);
// Accepts an exported snapshot id ("00000003-0000001B-1").
bool looks_like_pg_snapshot(const std::string& s);

}  // namespace stacksnap::engine
