// Internal to the server (server.cpp, connection.cpp): the state shared between the
// server and its connections, and the connection factories. Not for handlers.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "http/router.h"
#include "http/server.h"
#include "http/sse.h"

namespace stacksnap::http::detail {

namespace net = boost::asio;

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Asks the connection to finish: idle and SSE connections close now, a request in
  // progress closes after its response. Thread-safe (posts to the connection's strand).
  virtual void shutdown() = 0;
};

struct ServerCore {
  ServerCore(const Router& r, SseHub& h, ServerOptions o) : router(r), hub(h), opt(std::move(o)) {}

  const Router& router;
  SseHub& hub;
  const ServerOptions opt;
  bool tls = false;
  std::stop_source stop;
  net::thread_pool* workers = nullptr;

  // Live connections (for stop() and the connection limit).
  mutable std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>> conns;

  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> requests_total{0};
  std::atomic<uint64_t> sse_streams_total{0};
  std::array<std::atomic<uint64_t>, 6> responses_by_class{};  // index = status / 100

  void add(const std::shared_ptr<ConnectionBase>& c) {
    std::lock_guard lk(mu);
    conns.emplace(c.get(), c);
  }
  void remove(ConnectionBase* c) {
    std::lock_guard lk(mu);
    conns.erase(c);
    cv.notify_all();
  }
  size_t open_connections() const {
    std::lock_guard lk(mu);
    return conns.size();
  }
};

// Start serving one accepted socket (plain HTTP, or TLS with `ctx`). The connection
// registers itself in core.conns and removes itself when destroyed.
void start_plain_connection(ServerCore& core, net::ip::tcp::socket socket);
void start_tls_connection(ServerCore& core, net::ip::tcp::socket socket, net::ssl::context& ctx);

}  // namespace stacksnap::http::detail
