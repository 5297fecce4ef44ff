// One job per project at a time, across processes (CLI and server): an exclusive,
// non-blocking flock on <data_dir>/locks/<project>.lock, released when the holder exits
// (also on a crash).
#pragma once

#include <string>

#include "base/fd.h"

namespace stacksnap::backup {

class ProjectLock {
 public:
  // FailedPrecondition "a <what> of <project> is already running" when held elsewhere.
  static Result<ProjectLock> acquire(const std::string& data_dir, const std::string& project,
                                     const std::string& what);
  ProjectLock(ProjectLock&&) = default;
  ProjectLock& operator=(ProjectLock&&) = default;

 private:
  explicit ProjectLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace stacksnap::backup
