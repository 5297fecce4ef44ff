#include "restore/databases.h"

#include <fcntl.h>

#include "archive/reader.h"
#include "dbengine/docker_executor.h"
#include "base/fd.h"

namespace stacksnap::restore {

namespace {

constexpr std::chrono::seconds kReadyTimeout{300};

// One pass over the backup positioned at a dump entry; reads its content.
class DumpEntryReader final : public Reader {
 public:
  explicit DumpEntryReader(std::unique_ptr<archive::EntrySource> r) : r_(std::move(r)) {}
  Result<size_t> read(MutableBytes buf) override { return r_->content().read(buf); }

 private:
  std::unique_ptr<archive::EntrySource> r_;
};

}  // namespace

Result<std::unique_ptr<Reader>> ArchiveDumpSource::open(const std::string& name) {
  const std::string want = "dumps/" + service_ + "/" + name;
  auto r = TRY(open_());  // verified before
  for (;;) {
    const archive::Entry* e = TRY(r->next());
    if (e == nullptr) return not_found("the backup has no dump " + want);
    if (e->meta.path == want && e->meta.type == archive::EntryType::kFile) break;
  }
  return std::unique_ptr<Reader>(new DumpEntryReader(std::move(r)));
}

Result<std::vector<DumpToReplay>> dumps_from_manifest(const archive::Manifest& m) {
  std::vector<DumpToReplay> out;
  for (const auto& [service, rec] : m.dumps) {
    const nlohmann::json* info = &rec;
    if (rec.is_object() && rec.contains("info")) info = &rec["info"];
    auto d = dbengine::DumpInfo::from_json(*info);
    if (!d.ok()) return std::move(d).error().with_context("manifest dump record of " + service);
    out.push_back({service, std::move(*d)});
  }
  return out;
}

Result<docker::ContainerInfo> service_container(docker::Client& docker, const std::string& project,
                                                const std::string& service) {
  auto list = TRY(docker.list_containers({.all = true,
                                          .labels = {"com.docker.compose.project=" + project,
                                                     "com.docker.compose.service=" + service}}));
  for (const auto& c : list) {
    if (c.labels.count("com.docker.compose.oneoff") && c.labels.at("com.docker.compose.oneoff") == "True") continue;
    return docker.inspect_container(c.id);
  }
  return not_found("service " + service + " of project " + project + " has no container");
}

Status replay_dump(docker::Client& docker, const std::string& project, const DumpToReplay& d,
                   const archive::SourceOpener& open, job::Context& ctx) {
  auto info = TRY(service_container(docker, project, d.service));
  auto eng = TRY(dbengine::make_engine(d.info.engine));
  dbengine::DockerExecutor ex(docker, info.id, info.name);
  dbengine::DockerContainerControl ctl(docker, info.id);
  auto facts = dbengine::facts_from(info);
  {
    job::StepTimer t(ctx, "ready:" + d.service, "Wait for " + d.info.engine + " in " + info.name);
    auto st = eng->wait_ready(ex, facts, kReadyTimeout, ctx);
    t.end_with(st);
    TRY_CTX(st, "wait for " + info.name);
  }
  ArchiveDumpSource src(open, d.service);
  TRY_CTX(eng->restore(ex, ctl, facts, d.info, src, ctx), "replay the dump of " + d.service);
  return {};
}

Result<DbOutcome> check_rows(docker::Client& docker, const std::string& project, const DumpToReplay& d,
                             job::Context& ctx) {
  auto info = TRY(service_container(docker, project, d.service));
  auto eng = TRY(dbengine::make_engine(d.info.engine));
  dbengine::DockerExecutor ex(docker, info.id, info.name);
  auto facts = dbengine::facts_from(info);
  TRY_CTX(eng->wait_ready(ex, facts, kReadyTimeout, ctx), "wait for " + info.name);
  auto now = TRY_CTX(eng->count_rows(ex, facts, ctx), "count rows in " + info.name);
  DbOutcome o{.service = d.service, .engine = d.info.engine, .container = info.name};
  o.tables = d.info.counts.size();
  o.counts_exact = d.info.counts_exact;
  auto check = dbengine::check_counts(d.info.counts, now, d.info.counts_exact);
  o.differences = std::move(check.failures);
  o.notes = std::move(check.notes);
  return o;
}

nlohmann::json to_json(const DbOutcome& o) {
  return {{"service", o.service},       {"engine", o.engine},           {"container", o.container},
          {"tables", o.tables},         {"counts_exact", o.counts_exact}, {"differences", o.differences},
          {"notes", o.notes},           {"rows_match", o.differences.empty()}};
}

}  // namespace stacksnap::restore
