// Process-wide resources: the open-descriptor limit and per-thread CPU priority.
#pragma once

#include <cstdint>

#include "base/error.h"

namespace stacksnap {

// The current soft RLIMIT_NOFILE (RLIM_INFINITY reported as UINT64_MAX).
uint64_t open_file_limit();

// Raises the soft RLIMIT_NOFILE to the hard limit (a server holding many sockets must not
// run out of descriptors before its jobs do). Returns the new soft limit; errno_error if
// setrlimit fails (the old limit stays).
Result<uint64_t> raise_open_file_limit();

// Lowers the calling thread's CPU priority by `nice_delta` relative to the process (Linux
// per-thread niceness), so it takes only the CPU other threads leave idle. Threads it starts
// afterwards inherit the priority. Best-effort: failures are ignored.
void lower_this_thread_priority(int nice_delta);

}  // namespace stacksnap
