// Test support for the HTTP server tests: a server on a loopback port with the core
// routes over a temporary catalog, a libcurl request helper, and a raw-socket SSE client.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "http/auth.h"
#include "http/core_routes.h"
#include "http/job_stream.h"
#include "http/rate_limit.h"
#include "http/router.h"
#include "http/server.h"
#include "http/sse.h"

namespace stacksnap::http::testing {

using Json = nlohmann::json;

struct Reply {
  long status = 0;
  CURLcode curl = CURLE_OK;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  double seconds = 0;
  long new_connections = 0;

  std::optional<std::string> header(const std::string& lower) const {
    for (const auto& [k, v] : headers) {
      if (k == lower) return v;
    }
    return std::nullopt;
  }
  Json json() const { return Json::parse(body, nullptr, false); }
};

struct Call {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::string> headers;
  std::string cainfo;  // TLS: trust this certificate
  long timeout_ms = 10000;
  CURL* reuse = nullptr;  // keep-alive across calls
  std::string source_ip;  // bind the client to this local address ("127.0.0.2": another client)
};

inline size_t curl_body(char* p, size_t n, size_t m, void* ud) {
  static_cast<std::string*>(ud)->append(p, n * m);
  return n * m;
}
inline size_t curl_header(char* p, size_t n, size_t m, void* ud) {
  std::string line(p, n * m);
  auto* out = static_cast<std::vector<std::pair<std::string, std::string>>*>(ud);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    out->emplace_back(name, value);
  }
  return n * m;
}

inline Reply call(const Call& c) {
  Reply r;
  CURL* h = c.reuse ? c.reuse : curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, c.url.c_str());
  if (!c.body.empty() || c.method == "POST" || c.method == "PUT" || c.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(c.body.size()));
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);  // resets NOBODY: set it after
  }
  curl_easy_setopt(h, CURLOPT_NOBODY, c.method == "HEAD" ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c.method == "HEAD" ? nullptr : c.method.c_str());
  curl_slist* list = nullptr;
  for (const auto& hd : c.headers) list = curl_slist_append(list, hd.c_str());
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, curl_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c.timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!c.cainfo.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, c.cainfo.c_str());
  curl_easy_setopt(h, CURLOPT_INTERFACE, c.source_ip.empty() ? nullptr : c.source_ip.c_str());
  r.curl = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &r.seconds);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r.new_connections);
  curl_slist_free_all(list);
  if (!c.reuse) curl_easy_cleanup(h);
  return r;
}

// The value of the session cookie in a reply's Set-Cookie, or "".
inline std::string session_cookie(const Reply& r) {
  for (const auto& [k, v] : r.headers) {
    if (k == "set-cookie" && v.starts_with("stacksnap_session=")) {
      return v.substr(0, v.find(';'));
    }
  }
  return {};
}

// One parsed server-sent event or comment.
struct Frame {
  int64_t id = 0;
  std::string event;
  std::string data;
  std::string comment;
};

// A minimal SSE client over a raw socket, so tests control exactly when it reads.
class SseClient {
 public:
  ~SseClient() { close(); }

  // Connects and sends "GET path" with extra header lines; `rcvbuf` > 0 shrinks the
  // socket's receive buffer (a slow client).
  bool open(uint16_t port, const std::string& path, const std::vector<std::string>& headers = {}, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    for (const auto& h : headers) req += h + "\r\n";
    req += "\r\n";
    return ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }

  // Reads until `done(frames)` holds, EOF, or the timeout. Returns done's last value.
  bool read_until(const std::function<bool(const std::vector<Frame>&)>& done,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(frames_)) {
      if (eof_) return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      raw_.append(buf, static_cast<size_t>(n));
      parse();
    }
    return true;
  }
  // Reads until the response head has arrived; returns the status (0: none in time).
  int read_status(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    read_until([this](const auto&) { return status_ != 0; }, timeout);
    return status_;
  }
  bool read_to_eof(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    read_until([](const auto&) { return false; }, timeout);
    return eof_;
  }

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  const std::vector<Frame>& frames() const { return frames_; }
  bool eof() const { return eof_; }
  std::vector<int64_t> ids() const {
    std::vector<int64_t> out;
    for (const auto& f : frames_) {
      if (f.id > 0) out.push_back(f.id);
    }
    return out;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void parse() {
    if (status_ == 0) {
      size_t end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end);
      status_ = std::stoi(head_.substr(9, 3));
      raw_.erase(0, end + 4);
    }
    while (true) {
      size_t end = raw_.find("\n\n");
      if (end == std::string::npos) return;
      std::string block = raw_.substr(0, end);
      raw_.erase(0, end + 2);
      Frame f;
      size_t pos = 0;
      while (pos <= block.size()) {
        size_t nl = block.find('\n', pos);
        std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if (line.starts_with("id: ")) f.id = std::stoll(line.substr(4));
        else if (line.starts_with("event: ")) f.event = line.substr(7);
        else if (line.starts_with("data: ")) f.data += line.substr(6);
        else if (line.starts_with(": ")) f.comment = line.substr(2);
        if (nl == std::string::npos) break;
        pos = nl + 1;
      }
      frames_.push_back(std::move(f));
    }
  }

  int fd_ = -1;
  std::string raw_;
  std::string head_;
  int status_ = 0;
  bool eof_ = false;
  std::vector<Frame> frames_;
};

// A server with the core routes over a temporary catalog. Add test routes through
// `extra` before start().
class TestServer {
 public:
  static constexpr const char* kPassword = "integration-test-password";

  explicit TestServer(SseLimits limits = {}) : hub(limits) {
    auto d = TempDir::create("/tmp", "stacksnap-http-");
    EXPECT_TRUE(d.ok());
    dir.emplace(std::move(*d));
    auto c = catalog::Catalog::open(dir->path() + "/state.db");
    EXPECT_TRUE(c.ok());
    cat = std::move(*c);
    auto adb = catalog::Db::open(dir->path() + "/state.db");
    EXPECT_TRUE(adb.ok());
    auth_db = std::move(*adb);
    auth = std::make_unique<AuthService>(
        *auth_db, clock,
        AuthOptions{.cost = PasswordHashCost::minimum(), .setup_token_file = dir->path() + "/setup-token"});
    auto token = auth->prepare_setup_token();  // as `serve` does at start
    EXPECT_TRUE(token.ok());
    setup_token = token.ok() ? *token : "";
    limiter = std::make_unique<LoginRateLimiter>(clock);
    router = std::make_unique<Router>(auth.get());
    server = std::make_unique<Server>(*router, hub);
    register_core_routes(*router, {.auth = *auth, .limiter = *limiter, .hub = hub,
                                   .metrics = [this] { return server->metrics_text(); }});
    // The resource routes cmd_serve registers (keep in step with register_resource_routes).
    router->sse("/api/jobs/{id}/events", job_events_handler(*cat));
  }
  ~TestServer() { server->stop(); }

  Status start(ServerOptions opt = {}) {
    if (opt.listen == "127.0.0.1:8080") opt.listen = "127.0.0.1:0";
    return server->start(opt);
  }
  std::string url(const std::string& path) const {
    return std::string(server->tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(server->port()) + path;
  }

  // The body of POST /api/setup with the one-time setup token.
  std::string setup_body(const std::string& password = kPassword) const {
    return Json{{"password", password}, {"setup_token", setup_token}}.dump();
  }

  // Sets the admin password and logs in: returns {cookie header, csrf token}.
  std::pair<std::string, std::string> login() {
    call({.method = "POST", .url = url("/api/setup"), .body = setup_body(), .headers = {"Content-Type: application/json"}});
    Reply r = call({.method = "POST", .url = url("/api/login"), .body = Json{{"password", kPassword}}.dump(),
                    .headers = {"Content-Type: application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return {"Cookie: " + session_cookie(r), r.json().value("csrf_token", "")};
  }
  // An API token (logs in first if needed).
  std::string token() {
    auto [cookie, csrf] = login();
    Reply r = call({.method = "POST", .url = url("/api/tokens"), .body = R"({"name":"tests"})",
                    .headers = {cookie, "X-CSRF-Token: " + csrf, "Content-Type: application/json"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("token", "");
  }

  SystemClock clock;
  std::optional<TempDir> dir;
  std::string setup_token;
  std::unique_ptr<catalog::Catalog> cat;
  std::unique_ptr<catalog::Db> auth_db;
  std::unique_ptr<AuthService> auth;
  std::unique_ptr<LoginRateLimiter> limiter;
  SseHub hub;
  std::unique_ptr<Router> router;
  std::unique_ptr<Server> server;
};

}  // namespace stacksnap::http::testing
