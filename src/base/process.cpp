#include "base/process.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace stacksnap {

uint64_t open_file_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  return r.rlim_cur == RLIM_INFINITY ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(r.rlim_cur);
}

Result<uint64_t> raise_open_file_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return errno_error("getrlimit(RLIMIT_NOFILE)", errno);
  if (r.rlim_cur != r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0) return errno_error("raise the open-file limit", errno);
  }
  return open_file_limit();
}

void lower_this_thread_priority(int nice_delta) {
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), ::getpriority(PRIO_PROCESS, 0) + nice_delta);
}

}  // namespace stacksnap
