// The real `stacksnap serve` binary for integration tests: started on a loopback port
// over a data dir (output appended to a log file, extra `serve` options allowed), the
// one-time setup token it wrote, and a logged-in API session to it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/build_paths.h"
#include "integration/http_test_support.h"

namespace stacksnap::it {

using namespace std::chrono_literals;
using http::testing::call;
using http::testing::Json;
using http::testing::Reply;

inline constexpr const char* kServerPassword = "server-test-password-4711";

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// `stacksnap --data-dir D serve --listen 127.0.0.1:0 [extra args]`, output appended to a log file.
class ServerProcess {
 public:
  ServerProcess(std::string data_dir, std::string log, std::vector<std::string> extra_args = {})
      : data_dir_(std::move(data_dir)), log_(std::move(log)), extra_(std::move(extra_args)) {}
  ~ServerProcess() {
    if (pid_ > 0) kill_now();
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the binary and waits for its "listening on" line; returns the port (0: failed).
  uint16_t start() {
    size_t offset = read_file(log_).size();
    std::vector<std::string> args = {stacksnap::build_paths::binary(), "--data-dir", data_dir_, "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const char* log = log_.c_str();
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0) _exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    const std::string marker = "listening on http://127.0.0.1:";
    port_ = 0;
    eventually(
        [&] {
          std::string text = read_file(log_).substr(offset);
          size_t at = text.find(marker);
          if (at != std::string::npos && text.find(" (data dir", at) != std::string::npos) {
            port_ = static_cast<uint16_t>(std::stoi(text.substr(at + marker.size())));
            return true;
          }
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
          }
          return false;
        },
        20s);
    return port_;
  }

  // SIGKILL and reap (a zombie would still count as alive for the repair).
  void kill_now() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // SIGTERM; returns the exit status.
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string log() const { return read_file(log_); }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::string token_file() const { return data_dir_ + "/setup-token"; }
  // The one-time setup token the server wrote (0600) into its data dir ("" when none).
  std::string setup_token() const {
    std::string t = read_file(token_file());
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }

 private:
  std::string data_dir_, log_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// A logged-in API session against a server on a loopback port.
struct Api {
  uint16_t port = 0;
  std::string cookie, csrf;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  // POST /api/setup (first run, with the server's setup token), then login().
  bool setup(const std::string& setup_token, const std::string& password = kServerPassword) {
    Reply r = call({.method = "POST", .url = url("/api/setup"),
                    .body = Json{{"password", password}, {"setup_token", setup_token}}.dump(),
                    .headers = {"Content-Type: application/json"}});
    return r.status == 201 && login(password);
  }
  bool login(const std::string& password = kServerPassword) {
    Reply r = call({.method = "POST", .url = url("/api/login"), .body = Json{{"password", password}}.dump(),
                    .headers = {"Content-Type: application/json"}});
    if (r.status != 200) return false;
    cookie = "Cookie: " + http::testing::session_cookie(r);
    csrf = r.json().value("csrf_token", "");
    return true;
  }
  Reply req(const std::string& method, const std::string& path, const Json& body = nullptr) const {
    std::vector<std::string> h{cookie, "X-CSRF-Token: " + csrf};
    if (!body.is_null()) h.push_back("Content-Type: application/json");
    return call({.method = method, .url = url(path), .body = body.is_null() ? "" : body.dump(), .headers = h,
                 .timeout_ms = 30000});
  }
  Json job(int64_t id) const { return req("GET", "/api/jobs/" + std::to_string(id)).json(); }
  Json wait_job(int64_t id, std::chrono::seconds limit) const {
    Json j;
    eventually(
        [&] {
          j = job(id);
          std::string st = j.value("state", "");
          return st != "queued" && st != "running";
        },
        limit);
    return j;
  }
};

}  // namespace stacksnap::it
