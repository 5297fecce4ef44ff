// The appliance's HTTP server: Boost.Beast over Asio, HTTP/1.1 with keep-alive,
// optional TLS, a small io thread pool plus a worker pool for blocking handlers.
//
// Design (docs/adr/0003-http-server.md):
//  - io threads (2 by default) run every socket operation; each connection has its own
//    strand, so one connection's handlers never run concurrently.
//  - Routes with Exec::kBlocking, SSE replay and streamed bodies' reads run on the worker
//    pool (4 threads by default), never on io threads.
//  - Bounded memory per connection: a 16 KiB header limit, the route's body limit
//    (1 MiB by default), one request at a time, one fixed chunk for streamed bodies, and
//    a bounded event queue per SSE client (SseHub).
//  - Timeouts: TLS handshake and request body (read_timeout), waiting for and reading the
//    next request's header (idle_timeout), every write (write_timeout).
//  - Every response gets X-Content-Type-Options, X-Frame-Options, Referrer-Policy and the
//    Content-Security-Policy; Cache-Control defaults to no-store. No CORS headers at all.
//  - stop(): stops accepting, lets in-flight requests finish (stop_grace), closes idle and
//    SSE connections, joins the threads.
//
// Thread-safety: start() and stop() from one controlling thread; port()/metrics_text()
// from any thread. The Router and SseHub must outlive the Server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "http/listen.h"
#include "http/router.h"
#include "http/sse.h"

namespace stacksnap::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert;  // PEM certificate chain; with tls_key enables TLS
  std::string tls_key;   // PEM private key
  InsecureListen insecure = InsecureListen::kRefuse;
  int io_threads = 2;
  int worker_threads = 4;
  size_t max_connections = 1024;  // beyond this, new connections are closed at once
  size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds sse_heartbeat{15'000};
  std::chrono::milliseconds stop_grace{5'000};
  // Receives warnings (insecure listen); default: "stacksnap: warning: …" on stderr.
  std::function<void(std::string_view)> warn;
};

class Server {
 public:
  Server(const Router& router, SseHub& hub);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Validates the router and the listen policy, loads TLS files, binds, and starts the
  // threads. InvalidArgument (bad address, TLS files), FailedPrecondition (non-loopback
  // without TLS), AlreadyExists/PermissionDenied (bind). Call once.
  Status start(const ServerOptions& options);
  // The bound port (useful with port 0). 0 before start().
  uint16_t port() const;
  bool tls() const;
  // Graceful stop; idempotent.
  void stop();

  // Server metrics in Prometheus text exposition (connections, requests, SSE clients).
  std::string metrics_text() const;

  struct Impl;

 private:
  const Router& router_;
  SseHub& hub_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stacksnap::http
