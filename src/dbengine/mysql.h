// MySQL / MariaDB: mariadb-dump or mysqldump (whichever the image has) with
// --single-transaction --routines --triggers --events --hex-blob --all-databases,
// password in MYSQL_PWD. Row counts come from the dump stream itself
// (MysqlRowCounter), so they describe the dump's consistent snapshot.
// Connects over TCP to 127.0.0.1 inside the container (the official images' init phase
// runs a temporary server without networking, which must not be mistaken for ready).
#pragma once

#include "dbengine/engine.h"

namespace stacksnap::dbengine {

class MysqlEngine final : public Engine {
 public:
  std::string name() const override { return "mysql"; }
  Result<DumpInfo> dump(Executor& ex, const ContainerFacts& facts, DumpSink& sink, job::Context& ctx) override;
  Status wait_ready(Executor& ex, const ContainerFacts& facts, std::chrono::seconds timeout,
                    job::Context& ctx) override;
  Status restore(Executor& ex, ContainerControl& ctl, const ContainerFacts& facts, const DumpInfo& info,
                 DumpSource& src, job::Context& ctx) override;
  Result<std::vector<TableCount>> count_rows(Executor& ex, const ContainerFacts& facts, job::Context& ctx) override;
};

}  // namespace stacksnap::dbengine
