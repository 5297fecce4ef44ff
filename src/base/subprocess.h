// Running an external program (docker compose) safely: argv only (no shell), stdin
// /dev/null, an explicit environment, its own process group (so cancellation kills
// the whole tree), bounded capture of stdout/stderr, a timeout.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"

namespace stacksnap {

struct SubprocessOptions {
  std::vector<std::string> argv;       // argv[0] is looked up in PATH
  std::vector<std::string> env;        // complete environment ("K=V")
  std::string cwd;                     // empty: inherit
  std::chrono::seconds timeout{600};
  size_t capture_limit = 1 << 20;      // per stream; the tail is kept beyond it
  // Called for every complete line of stdout/stderr (merged order per stream), if set.
  std::function<void(bool is_stderr, const std::string& line)> on_line;
};

struct SubprocessResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// NotFound when the program does not exist; DeadlineExceeded on timeout; Cancelled
// when `stop` fires (the process group gets SIGTERM, then SIGKILL after 5 s).
Result<SubprocessResult> run_subprocess(const SubprocessOptions& options, const StopToken& stop = {});

// PATH lookup; empty when not found.
std::string find_in_path(const std::string& program);

}  // namespace stacksnap
