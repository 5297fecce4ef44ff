// The appliance's HTTP server: Boost.Beast over Asio, HTTP/1.1 with keep-alive,
// optional TLS, a small io thread pool plus a worker pool for blocking handlers.
//
// Design (docs/adr/0003-http-server.md):
//  - io threads (2 by default) run every socket operation; each connection has its own
//    strand, so one connection's handlers never run concurrently.
//  - Routes with Exec::kBlocking, SSE replay and streamed bodies' reads run on the worker
//    pool (4 threads by default), never on io threads. Exec::kPasswordHash routes run on
//    a separate password pool (1–2 threads at lower CPU priority, a bounded queue; beyond
//    it 503 at once), so Argon2 never holds a worker or starves the rest of the API.
//  - Exposure (docs/adr/0005-appliance-exposure.md): every request's header is screened
//    before routing (RequestGate: Host allowlist → 421, cross-origin state change → 403)
//    and non-public routes are authenticated (Router::authorize) before any of the body is
//    read; a refused body is never read. Connections per client address are capped
//    (trusted proxies exempt); the total cap follows RLIMIT_NOFILE.
//  - Bounded memory per connection: a 16 KiB header limit, the route's body limit
//    (1 MiB by default), one request at a time, one fixed chunk for streamed bodies, and
//    a bounded event queue per SSE client (SseHub).
//  - Timeouts: TLS handshake and request body (read_timeout), a new connection's first
//    request header (first_request_timeout), waiting for and reading the next request's
//    header (idle_timeout), every write (write_timeout).
//  - Every response gets X-Content-Type-Options, X-Frame-Options, Referrer-Policy and the
//    Content-Security-Policy; Cache-Control defaults to no-store; Strict-Transport-Security
//    when served over TLS or the public URL is https. No CORS headers at all.
//  - An SSE stream whose session or token ends (logout, password change, revocation) is
//    closed at once (Authenticator::credential_watch).
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
#include <vector>

#include "base/error.h"
#include "http/listen.h"
#include "http/router.h"
#include "http/sse.h"

namespace stacksnap::http {

inline constexpr size_t kMaxConnections = 1024;

// The connection cap for an open-file limit: half of it, within [16, kMaxConnections].
size_t connection_cap_for(uint64_t open_file_limit);

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert;  // PEM certificate chain; with tls_key enables TLS
  std::string tls_key;   // PEM private key
  InsecureListen insecure = InsecureListen::kRefuse;
  int io_threads = 2;
  int worker_threads = 4;
  int password_threads = 0;      // 0: 1 on up to 2 cores, else 2
  size_t password_queue = 16;    // password checks waiting beyond the running ones → 503
  // Beyond this, new connections are closed at once. 0: derived from the open-file limit
  // (half of RLIMIT_NOFILE, the rest is for jobs; at most kMaxConnections).
  size_t max_connections = 0;
  size_t max_connections_per_client = 32;  // per peer address; trusted proxies exempt; 0: no cap
  // Who the server answers to (host_policy.h, client_address.h).
  std::string public_url;                   // "https://backup.example.com": its host is allowed
  std::vector<std::string> allowed_hosts;   // further Host names (421 for the rest)
  std::vector<std::string> trusted_proxies; // "127.0.0.1", "10.0.0.0/8": X-Forwarded-For/-Proto believed
  size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds first_request_timeout{10'000};
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

  // Validates the router, the listen policy and the exposure options, loads TLS files,
  // binds, and starts the threads. InvalidArgument (bad address, TLS files, public URL,
  // allowed host, trusted proxy), FailedPrecondition (non-loopback without TLS),
  // AlreadyExists/PermissionDenied (bind). Call once.
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
