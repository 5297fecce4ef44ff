// An interactive exec session: a command (psql) kept running with a pipe on its stdin,
// its stdout collected into lines we can wait for. Used to hold a Postgres snapshot
// open while pg_dump runs in a second exec.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/pipe.h"
#include "dbengine/engine.h"

namespace stacksnap::dbengine {

class Session {
 public:
  // Starts `req` in a background thread.
  Session(Executor& ex, ExecRequest req, StopToken stop);
  ~Session();  // closes stdin and joins

  Status send(std::string_view text);
  // Waits until a stdout line satisfies `pred`; returns it. DeadlineExceeded on timeout;
  // the session's own failure (exit, exec error) ends the wait early with stderr.
  Result<std::string> wait_line(const std::function<bool(const std::string&)>& pred,
                                std::chrono::seconds timeout);
  // Lines received since the last call.
  std::vector<std::string> take_lines();
  // Closes stdin and waits for the exit code.
  Result<int> finish();
  std::string stderr_text();

 private:
  class LineSink;
  Executor& ex_;
  Pipe stdin_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  size_t consumed_ = 0;
  std::string partial_, err_;
  bool done_ = false;
  std::optional<Result<int>> exit_;
  std::thread thread_;
};

}  // namespace stacksnap::dbengine
