// In-memory Target for unit tests. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "storage/target.h"

namespace stacksnap::storage {

class MemoryTarget final : public Target {
 public:
  std::string describe() const override { return "memory"; }
  Result<std::unique_ptr<Upload>> put(const std::string& key, uint64_t size_hint) override;
  Result<std::unique_ptr<Reader>> get(const std::string& key, GetRange range) override;
  Result<ObjectInfo> stat(const std::string& key) override;
  Status list(const std::string& prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status remove(const std::string& key) override;
  Result<int> cleanup_stale(std::chrono::seconds) override { return 0; }

  // Test access.
  size_t object_count() const;
  void commit_object(const std::string& key, std::string data);
  // Number of uploads started but neither committed nor aborted.
  int open_uploads() const { return open_uploads_.load(); }

 private:
  friend class MemoryUpload;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const std::string>> objects_;
  std::atomic<int> open_uploads_{0};
};

}  // namespace stacksnap::storage
