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

#include "http/request_gate.h"
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
  bool hsts = false;               // Strict-Transport-Security on every response
  size_t max_connections = kMaxConnections;
  RequestGate gate;
  std::stop_source stop;
  net::thread_pool* workers = nullptr;
  net::thread_pool* password_pool = nullptr;
  size_t password_limit = 0;                // running + waiting password checks
  std::atomic<size_t> password_jobs{0};

  // Live connections (for stop() and the connection limits).
  struct Live {
    std::weak_ptr<ConnectionBase> conn;
    std::string peer;
  };
  mutable std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<ConnectionBase*, Live> conns;
  std::unordered_map<std::string, size_t> per_peer;

  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> requests_total{0};
  std::atomic<uint64_t> bytes_received{0};  // from client sockets: headers, bodies, drained bodies
  std::atomic<uint64_t> sse_streams_total{0};
  std::array<std::atomic<uint64_t>, 6> responses_by_class{};  // index = status / 100

  void add(const std::shared_ptr<ConnectionBase>& c, const std::string& peer) {
    std::lock_guard lk(mu);
    conns.emplace(c.get(), Live{c, peer});
    ++per_peer[peer];
  }
  void remove(ConnectionBase* c) {
    std::lock_guard lk(mu);
    auto it = conns.find(c);
    if (it != conns.end()) {
      auto p = per_peer.find(it->second.peer);
      if (p != per_peer.end() && --p->second == 0) per_peer.erase(p);
      conns.erase(it);
    }
    cv.notify_all();
  }
  size_t open_connections() const {
    std::lock_guard lk(mu);
    return conns.size();
  }
  size_t connections_from(const std::string& peer) const {
    std::lock_guard lk(mu);
    auto it = per_peer.find(peer);
    return it == per_peer.end() ? 0 : it->second;
  }
};

// The peer's address as text ("127.0.0.1", "::1"; IPv4-mapped addresses as IPv4).
std::string peer_address(const net::ip::tcp::socket& s);

// Start serving one accepted socket from `peer` (plain HTTP, or TLS with `ctx`). The
// connection registers itself in core.conns and removes itself when destroyed.
void start_plain_connection(ServerCore& core, net::ip::tcp::socket socket, std::string peer);
void start_tls_connection(ServerCore& core, net::ip::tcp::socket socket, net::ssl::context& ctx, std::string peer);

}  // namespace stacksnap::http::detail
