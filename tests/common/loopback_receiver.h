// A tiny HTTP/1.1 receiver on a loopback port, for tests of outgoing calls
// (notifications): one thread, one connection at a time, every request recorded
// (method, path, headers, body) before it is answered with the responder's status and
// "Connection: close". Written on raw sockets on purpose: the product's own HTTP server
// is not used to check what the product sends.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stacksnap::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;  // with the query string
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;

  std::optional<std::string> header(const std::string& lower) const {
    auto it = headers.find(lower);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
};

class LoopbackReceiver {
 public:
  // The status to answer a request with (default: 200 for everything).
  using Responder = std::function<int(const ReceivedRequest&)>;

  explicit LoopbackReceiver(Responder respond = {}) : respond_(std::move(respond)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~LoopbackReceiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackReceiver(const LoopbackReceiver&) = delete;
  LoopbackReceiver& operator=(const LoopbackReceiver&) = delete;

  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lk(mu_);
    return requests_;
  }
  size_t count() const {
    std::lock_guard lk(mu_);
    return requests_.size();
  }
  // Waits until at least `n` requests arrived.
  bool wait_for(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return requests_.size() >= n; });
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }

  // Reads one request (Content-Length bodies), records it, answers.
  void serve(int c) {
    std::string raw;
    size_t head_end = std::string::npos;
    size_t want = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    char buf[16384];
    while (std::chrono::steady_clock::now() < deadline && !stop_) {
      if (head_end != std::string::npos && raw.size() >= head_end + 4 + want) break;
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      raw.append(buf, static_cast<size_t>(n));
      if (head_end == std::string::npos) {
        head_end = raw.find("\r\n\r\n");
        if (head_end != std::string::npos) want = content_length(raw.substr(0, head_end));
      }
    }
    if (head_end == std::string::npos || raw.size() < head_end + 4 + want) return;

    ReceivedRequest r;
    std::string head = raw.substr(0, head_end);
    size_t eol = head.find("\r\n");
    std::string line = head.substr(0, eol);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    r.method = line.substr(0, sp1);
    r.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (size_t pos = eol == std::string::npos ? head.size() : eol + 2; pos < head.size();) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string h = head.substr(pos, next - pos);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      pos = next + 2;
    }
    r.body = raw.substr(head_end + 4, want);
    int status = respond_ ? respond_(r) : 200;
    {
      std::lock_guard lk(mu_);
      requests_.push_back(std::move(r));
    }
    cv_.notify_all();
    std::string reply =
        "HTTP/1.1 " + std::to_string(status) + " Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  static size_t content_length(const std::string& head) {
    std::string lower = head;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    size_t pos = lower.find("\r\ncontent-length:");
    if (pos == std::string::npos) return 0;
    return static_cast<size_t>(std::strtoull(lower.c_str() + pos + 17, nullptr, 10));
  }

  Responder respond_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

}  // namespace stacksnap::testing
