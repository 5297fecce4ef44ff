// PostgreSQL: pg_dumpall --globals-only + pg_dump -Fc -Z0 (uncompressed: it deduplicates) per database, each database
// dumped inside an exported snapshot that also served to count its rows, so the
// counts describe the dump exactly. Connects over TCP to 127.0.0.1 inside the
// container (password auth, as the official image requires), falling back to the
// local socket only for dumps when TCP is refused.
#pragma once

#include <set>
#include <string>

#include "dbengine/engine.h"

namespace stacksnap::dbengine {

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

// The query that lists "hex(schema.table)|rows" for every ordinary table of the current
// database (partitions counted per leaf, system schemas excluded).
extern const char* const kPgCountQuery;
// Parses "hex(schema.table)|rows" lines into counts for `database`.
Result<std::vector<TableCount>> parse_pg_counts(const std::string& database, const std::vector<std::string>& lines);
// Accepts an exported snapshot id ("00000003-0000001B-1").
bool looks_like_pg_snapshot(const std::string& s);
// A database name as a libpq connection string ("dbname='my db'", quotes and backslashes
// escaped): libpq reads a bare -d argument that contains '=' or starts with
// "postgres://" as a connection string, so names never reach it bare.
std::string pg_dbname_conninfo(const std::string& db);
// True for the one error role replay expects: CREATE ROLE of a role the fresh container
// had before the replay (its bootstrap user, roles its init scripts made):
// "ERROR:  role \"shop\" already exists".
bool is_expected_role_error(const std::string& psql_line, const std::set<std::string>& roles_before);

}  // namespace stacksnap::dbengine
