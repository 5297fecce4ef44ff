// A directory removed (recursively, best-effort) when the owner goes away.
#pragma once

#include <string>

#include "base/error.h"

namespace stacksnap {

class TempDir {
 public:
  // Creates a fresh directory "<parent>/<prefix>XXXXXX" with mode 0700.
  static Result<TempDir> create(const std::string& parent, const std::string& prefix = "stacksnap-");
  TempDir(TempDir&& o) noexcept;
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // Removes now and reports the error.
  Status remove();
  // Keeps the directory on destruction.
  std::string release();

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace stacksnap
