// Replaying database dumps from an archive that has been verified whole, and row-count
// checks against the manifest.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/manifest.h"
#include "archive/source.h"
#include "docker/client.h"
#include "dbengine/engine.h"
#include "job/context.h"
#include "seal/key.h"

namespace stacksnap::restore {

// Opens dumps/<service>/<name> by reading the archive again from the start (each open
// is its own authenticated pass; dumps come early in an archive). The Reader it returns
// owns the pass.
class ArchiveDumpSource final : public dbengine::DumpSource {
 public:
  ArchiveDumpSource(archive::SourceOpener open, std::string service)
      : open_(std::move(open)), service_(std::move(service)) {}
  Result<std::unique_ptr<Reader>> open(const std::string& name) override;

 private:
  archive::SourceOpener open_;
  std::string service_;
};

struct DumpToReplay {
  std::string service;
  dbengine::DumpInfo info;
};

// The dumps recorded in the manifest (DataLoss when a record is malformed).
Result<std::vector<DumpToReplay>> dumps_from_manifest(const archive::Manifest& m);

struct DbOutcome {
  std::string service;
  std::string engine;
  std::string container;
  std::vector<std::string> differences;  // row-count differences that fail the check, human lines
  std::vector<std::string> notes;        // differences within tolerance (TTL keys, estimates)
  uint64_t tables = 0;
  bool counts_exact = true;
};

// The running container of `service` in `project` (NotFound naming both).
Result<docker::ContainerInfo> service_container(docker::Client& docker, const std::string& project,
                                                const std::string& service);

// Waits until the service's server is ready, then replays its dump.
Status replay_dump(docker::Client& docker, const std::string& project, const DumpToReplay& d,
                   const archive::SourceOpener& open, job::Context& ctx);

// Counts rows now and compares them with the dump's counts.
Result<DbOutcome> check_rows(docker::Client& docker, const std::string& project, const DumpToReplay& d,
                             job::Context& ctx);

nlohmann::json to_json(const DbOutcome& o);

}  // namespace stacksnap::restore
