// A directory on this machine as a storage target.
// Objects are files under root. An upload is written to an unnamed file (O_TMPFILE) where
// the file system allows, else to ".<name>.upload-XXXXXX" beside the final name; it
// becomes visible by fsync, a link to ".<name>.upload-XXXXXX", rename and directory fsync.
#pragma once

#include <memory>
#include <string>

#include "storage/target.h"

namespace stacksnap::storage {

class LocalTarget final : public Target {
 public:
  // Creates `root` (0700) when missing. InvalidArgument for a relative path.
  static Result<std::unique_ptr<LocalTarget>> create(const std::string& root);

  std::string describe() const override { return "local " + root_; }
  Result<std::unique_ptr<Upload>> put(const std::string& key, uint64_t size_hint) override;
  // Copies inside the kernel (copy_file_range), else Target::put_file (read/write).
  Status put_file(const std::string& key, int fd, uint64_t size, const PutFileOptions& opts = {}) override;
  Result<std::unique_ptr<Reader>> get(const std::string& key, GetRange range) override;
  std::optional<std::string> local_file(const std::string& key) const override { return path_of(key); }
  Result<ObjectInfo> stat(const std::string& key) override;
  Status list(const std::string& prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status remove(const std::string& key) override;
  Result<int> cleanup_stale(std::chrono::seconds older_than) override;

  const std::string& root() const { return root_; }
  std::string path_of(const std::string& key) const { return root_ + "/" + key; }

 private:
  explicit LocalTarget(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace stacksnap::storage
