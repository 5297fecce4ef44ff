// Drills check every restored file against the archive before any container starts:
// volumes as read back through the Engine (done by apply_files with check_volumes), bind
// mounts read back the same way through a helper that mounts them read-only. Each tree is
// compared by its digest (path, content SHA-256, size, mode, owner of every regular
// file); only a tree that differs is walked again, file by file, to name what differs.
// What apps write later, once they run, is never compared.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "job/context.h"
#include "archive/source.h"
#include "restore/apply.h"
#include "restore/helper.h"
#include "restore/placement.h"
#include "seal/key.h"

namespace stacksnap::restore {

struct FileCheck {
  std::vector<std::string> problems;  // "volume x: a/b.txt: content differs (sha256 …)"
  nlohmann::json binds = nlohmann::json::array();  // {index, host_path, files, digest, matches}
};

inline constexpr size_t kNamedDifferencesPerTree = 10;

Result<FileCheck> check_restored_files(docker::Client& docker, const Placement& placement, const ApplySummary& sum,
                                       const archive::SourceOpener& open, const std::string& helper_image,
                                       job::Context& ctx);

// The differences between two file maps, worded for a user, at most `limit` lines (the
// last says how many more there were).
std::vector<std::string> describe_file_differences(const FileMap& archive, const FileMap& restored, size_t limit);

}  // namespace stacksnap::restore
