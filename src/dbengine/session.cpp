#include "dbengine/session.h"

#include <algorithm>

namespace stacksnap::dbengine {

class Session::LineSink final : public Writer {
 public:
  LineSink(Session& s, bool is_err) : s_(s), is_err_(is_err) {}
  Status write(Bytes data) override {
    std::lock_guard lk(s_.mu_);
    if (is_err_) {
      if (s_.err_.size() < (1 << 20)) s_.err_.append(as_chars(data));
      return {};
    }
    for (char c : as_chars(data)) {
      if (c == '\n') {
        if (!s_.partial_.empty() && s_.partial_.back() == '\r') s_.partial_.pop_back();
        s_.lines_.push_back(std::move(s_.partial_));
        s_.partial_.clear();
      } else {
        s_.partial_.push_back(c);
      }
    }
    s_.cv_.notify_all();
    return {};
  }

 private:
  Session& s_;
  bool is_err_;
};

Session::Session(Executor& ex, ExecRequest req, StopToken stop) : ex_(ex), stdin_(64 * 1024) {
  thread_ = std::thread([this, req = std::move(req), stop = std::move(stop)] {
    LineSink out(*this, false), err(*this, true);
    Pipe::ReaderEnd in(stdin_);
    Result<int> r = ex_.run(req, &in, out, err, stop);
    std::lock_guard lk(mu_);
    exit_ = std::move(r);
    done_ = true;
    cv_.notify_all();
  });
}

Session::~Session() {
  stdin_.close_write();
  if (thread_.joinable()) thread_.join();
}

Status Session::send(std::string_view text) { return stdin_.write(as_bytes(text)); }

Result<std::string> Session::wait_line(const std::function<bool(const std::string&)>& pred,
                                       std::chrono::seconds timeout) {
  std::unique_lock lk(mu_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; consumed_ < lines_.size(); ++consumed_) {
      if (pred(lines_[consumed_])) return lines_[consumed_++];
    }
    if (done_) {
      std::string why = exit_->ok() ? "exited " + std::to_string(exit_->value()) : exit_->error().message();
      return internal_error("session in " + ex_.container_name() + " ended (" + why + ")" +
                            (err_.empty() ? "" : ": " + stderr_tail(err_)));
    }
    // Wake every second to ask whether the container still runs: a killed container
    // can leave the exec's stream open, and waiting out `timeout` would hide the cause.
    const auto slice = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    if (cv_.wait_until(lk, slice) == std::cv_status::timeout) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return deadline_exceeded("no answer from the session in " + ex_.container_name() + " within " +
                                 std::to_string(timeout.count()) + " s" + (err_.empty() ? "" : ": " + stderr_tail(err_)));
      }
      lk.unlock();
      const bool running = ex_.container_running();
      lk.lock();
      if (!running && consumed_ >= lines_.size() && !done_) {
        return unavailable("container " + ex_.container_name() + " stopped while its session was waiting for an answer" +
                           (err_.empty() ? "" : ": " + stderr_tail(err_)));
      }
    }
  }
}

std::vector<std::string> Session::take_lines() {
  std::lock_guard lk(mu_);
  std::vector<std::string> out(lines_.begin() + static_cast<long>(consumed_), lines_.end());
  consumed_ = lines_.size();
  return out;
}

Result<int> Session::finish() {
  stdin_.close_write();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  return *exit_;
}

std::string Session::stderr_text() {
  std::lock_guard lk(mu_);
  return err_;
}

}  // namespace stacksnap::dbengine
