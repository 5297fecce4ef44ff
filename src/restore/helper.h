// The restore's helper containers (docker/helper_container.h): mounting the volumes or
// bind-mount paths a restore fills or a drill reads back through the Engine's archive
// endpoint, and the read-back itself.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"
#include "docker/client.h"
#include "docker/helper_container.h"

namespace stacksnap::restore {

struct TreeDigest;

enum class MountMode { kReadWrite, kReadOnly };

// A helper (docker/helper_container.h) mounting each of `sources` at `<root>/<index>`;
// volumes with NoCopy (their contents are never copied from the image).
Result<std::unique_ptr<docker::HelperContainer>> mount_helper(docker::Client& docker, const std::string& project,
                                                              const std::string& image, docker::MountSpec::Type type,
                                                              const std::vector<std::string>& sources,
                                                              const std::string& root, MountMode mode);

// What a drill knows of one regular file.
struct FileFacts {
  std::string sha256;  // hex
  uint64_t size = 0;
  uint32_t mode = 0, uid = 0, gid = 0;  // mode: permission bits only
  bool operator==(const FileFacts&) const = default;
};
using FileMap = std::map<std::string, FileFacts>;  // relative path → facts

// Reads the tree at `path` in `container` back through the Engine: a digest of every
// regular file (hardlinks to an earlier file are not counted again, as in the archive)
// and, with `files`, each file's facts.
Result<TreeDigest> read_back(docker::Client& docker, const std::string& container, const std::string& path,
                             const StopToken& stop, FileMap* files = nullptr);

}  // namespace stacksnap::restore
