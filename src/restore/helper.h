// The restore's helper containers: created from any local image, never started, mounting
// the volumes (or bind-mount paths) a restore fills or reads back through the Engine's
// archive endpoint; removed when they go out of scope (crashed runs' leftovers carry the
// helper labels of backup/capture.h and are removed by the next backup).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"
#include "docker/client.h"

namespace stacksnap::restore {

struct TreeDigest;

class Helper {
 public:
  // One mount per entry, at `<root>/<index>`.
  static Result<std::unique_ptr<Helper>> create(docker::Client& docker, const std::string& project,
                                               const std::string& image, docker::MountSpec::Type type,
                                               const std::vector<std::string>& sources, const std::string& root,
                                               bool read_only);
  ~Helper();
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;
  Status remove();
  const std::string& id() const { return id_; }

 private:
  Helper(docker::Client& d, std::string id) : docker_(d), id_(std::move(id)) {}
  docker::Client& docker_;
  std::string id_;
  bool removed_ = false;
};

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
