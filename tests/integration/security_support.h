// Support for the Security tests (issue 14): the real `stacksnap serve` on a fresh data
// dir, claimed with the setup token it wrote, and raw-socket helpers for what curl cannot
// do (other source addresses, a body held back until the answer came).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "integration/http_test_support.h"
#include "integration/server_process.h"

namespace stacksnap::it {

using http::testing::call;
using http::testing::Json;
using http::testing::Reply;

inline constexpr const char* kAdminPassword = "security-test-password";
inline const std::string kJsonType = "Content-Type: application/json";

// A logged-in session: the cookie header and the CSRF token.
struct Session {
  std::string cookie, csrf;
  std::vector<std::string> headers() const { return {cookie, "X-CSRF-Token: " + csrf, kJsonType}; }
};

class LiveServer {
 public:
  explicit LiveServer(std::vector<std::string> serve_args = {}) {
    auto d = TempDir::create("/var/tmp", "stacksnap-it-security-");
    EXPECT_TRUE(d.ok());
    dir.emplace(std::move(*d));
    data_dir = dir->path() + "/data";
    process = std::make_unique<ServerProcess>(data_dir, dir->path() + "/server.log", std::move(serve_args));
  }
  ~LiveServer() {
    if (process->pid() > 0) process->stop();
  }

  uint16_t start() { return process->start(); }
  std::string url(const std::string& path) const { return process->url(path); }

  Reply setup(const std::string& token, const std::string& password = kAdminPassword,
              std::vector<std::string> headers = {}) {
    headers.push_back(kJsonType);
    Json body{{"password", password}};
    if (!token.empty()) body["setup_token"] = token;
    return call({.method = "POST", .url = url("/api/setup"), .body = body.dump(), .headers = headers});
  }
  Reply login(const std::string& password = kAdminPassword, std::vector<std::string> headers = {},
              const std::string& source_ip = {}) {
    headers.push_back(kJsonType);
    return call({.method = "POST", .url = url("/api/login"), .body = Json{{"password", password}}.dump(),
                 .headers = headers, .timeout_ms = 30000, .source_ip = source_ip});
  }
  static Session session_of(const Reply& r) {
    return {"Cookie: " + http::testing::session_cookie(r), r.json().value("csrf_token", "")};
  }
  // Claims the fresh server with its setup token and returns the admin's session.
  Session claim() {
    Reply r = setup(process->setup_token());
    EXPECT_EQ(r.status, 201) << r.body << "\n" << process->log();
    return session_of(r);
  }

  std::optional<TempDir> dir;
  std::string data_dir;
  std::unique_ptr<ServerProcess> process;
};

// Lets this test process open thousands of sockets.
inline void raise_fd_limit() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
}

// A TCP connection to 127.0.0.1:port from the loopback address `source` (127.0.0.0/8 is
// all loopback on Linux: another source address is another client). -1 on failure.
inline int connect_from(const std::string& source, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& data) {
  return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

// Reads until the peer closes or `timeout`; returns what arrived.
inline std::string read_until_closed(int fd, std::chrono::milliseconds timeout, bool* closed = nullptr) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// The q-quantile (0..1) of samples, in the samples' unit.
inline double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace stacksnap::it
