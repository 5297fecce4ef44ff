// One job per project at a time, across processes (CLI and server): an exclusive,
// non-blocking flock on <data_dir>/locks/<project>.lock, released when the holder exits
// (also on a crash). Taken by the job layer (job/run.h) for every kind of job: backup,
// restore, drill, verify of a backup, prune. A second job fails at once; it never waits.
#pragma once

#include <string>

#include "base/fd.h"

namespace stacksnap::job {

class ProjectLock {
 public:
  // FailedPrecondition "a <what> of <project> is already running" when held elsewhere
  // (also by another lock of this process).
  // `what` and `detail` ("backup", "job 12, pid 345") are shown to whoever finds it held.
  static Result<ProjectLock> acquire(const std::string& data_dir, const std::string& project,
                                     const std::string& what, const std::string& detail = {});
  ProjectLock(ProjectLock&&) = default;
  ProjectLock& operator=(ProjectLock&&) = default;

 private:
  explicit ProjectLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace stacksnap::job
