#include "http/server.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <algorithm>
#include <cerrno>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "base/process.h"
#include "http/connection.h"

namespace stacksnap::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Member order matters: `core` and `ssl` outlive the io_context, whose pending handlers
// own connections that use them; the worker pool goes before the io_context because its
// tasks post back to connection strands.
struct Server::Impl {
  Impl(const Router& router, SseHub& hub, ServerOptions options)
      : core(router, hub, std::move(options)),
        ioc(std::max(1, core.opt.io_threads)),
        acceptor(net::make_strand(ioc)),
        retry_timer(acceptor.get_executor()) {}

  detail::ServerCore core;
  std::optional<net::ssl::context> ssl;  // outlives the connections' TLS streams
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  // Keeps the io threads running while the only outstanding work is on the worker pool
  // (a blocking handler whose connection has no socket operation pending).
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::unique_ptr<net::thread_pool> workers;
  std::unique_ptr<net::thread_pool> password_pool;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool running = false;

  void accept();
  void on_accept(boost::system::error_code ec, tcp::socket socket);
  // Room for one more connection from `peer`: the total cap, and the per-client cap
  // unless the peer is a trusted proxy. Runs on the acceptor's strand only, so the
  // counts cannot grow between this check and the connection's registration.
  bool admit(const std::string& peer) const {
    if (core.stop.stop_requested() || core.open_connections() >= core.max_connections) return false;
    size_t per_client = core.opt.max_connections_per_client;
    return per_client == 0 || core.gate.proxies.contains(peer) || core.connections_from(peer) < per_client;
  }
};

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc),
                        [this](boost::system::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void Server::Impl::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (!acceptor.is_open() || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of file descriptors and the like: back off briefly instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    retry_timer.expires_after(std::chrono::milliseconds(100));
    retry_timer.async_wait([this](boost::system::error_code tec) {
      if (!tec && acceptor.is_open()) accept();
    });
    return;
  }
  core.connections_total.fetch_add(1, std::memory_order_relaxed);
  std::string peer = detail::peer_address(socket);
  if (!admit(peer)) {
    core.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    socket.close(ignored);
  } else {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // small responses and SSE frames go out at once
    if (ssl) {
      detail::start_tls_connection(core, std::move(socket), *ssl, std::move(peer));
    } else {
      detail::start_plain_connection(core, std::move(socket), std::move(peer));
    }
  }
  accept();
}

namespace {

Error bind_error(const std::string& what, const boost::system::error_code& ec) {
  if (ec == net::error::address_in_use) {
    return already_exists(what + ": the address is already in use (is another stacksnap server running?)");
  }
  if (ec.category() == boost::system::system_category()) return errno_error(what, ec.value());
  return internal_error(what + ": " + ec.message());
}

Status load_tls(net::ssl::context& ctx, const std::string& cert, const std::string& key) {
  try {
    ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                    net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                    net::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, net::ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    // The message names the files and OpenSSL's reason, never their contents.
    return invalid_argument("load TLS certificate " + cert + " and key " + key + ": " + e.code().message());
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return invalid_argument("TLS key " + key + " does not match the certificate " + cert);
  }
  return {};
}

}  // namespace

size_t connection_cap_for(uint64_t open_file_limit) {
  return static_cast<size_t>(std::clamp<uint64_t>(open_file_limit / 2, 16, kMaxConnections));
}

Server::Server(const Router& router, SseHub& hub) : router_(router), hub_(hub) {}

Server::~Server() { stop(); }

Status Server::start(const ServerOptions& options) {
  if (impl_) return failed_precondition("the server was already started");
  TRY_CTX(router_.validate(), "routes");
  ListenAddress addr = TRY(parse_listen(options.listen));
  bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty())) {
    return invalid_argument("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
  }
  std::string warning = TRY(check_listen_policy(addr, tls, options.insecure));

  auto impl = std::make_unique<Impl>(router_, hub_, options);
  impl->core.tls = tls;
  impl->core.gate.hosts = TRY(HostPolicy::create(
      {.public_url = options.public_url, .allowed_hosts = options.allowed_hosts, .listen_ip = addr.ip}));
  impl->core.gate.proxies = TRY(TrustedProxies::parse(options.trusted_proxies));
  const auto& public_origin = impl->core.gate.hosts.public_origin();
  impl->core.hsts = tls || (public_origin && public_origin->scheme == "https");
  impl->core.max_connections =
      options.max_connections > 0 ? options.max_connections : connection_cap_for(open_file_limit());
  if (tls) {
    impl->ssl.emplace(net::ssl::context::tls_server);
    TRY(load_tls(*impl->ssl, options.tls_cert, options.tls_key));
  }

  boost::system::error_code ec;
  auto ip = net::ip::make_address(addr.ip, ec);
  if (ec) return invalid_argument("listen address " + addr.ip + ": " + ec.message());
  tcp::endpoint endpoint(ip, addr.port);
  std::string what = "listen on " + addr.display();
  impl->acceptor.open(endpoint.protocol(), ec);
  if (ec) return bind_error(what, ec);
  impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ip.is_v6()) impl->acceptor.set_option(net::ip::v6_only(true), ec);
  impl->acceptor.bind(endpoint, ec);
  if (ec) return bind_error(what, ec);
  impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return bind_error(what, ec);
  impl->port = impl->acceptor.local_endpoint(ec).port();

  if (!warning.empty()) {
    if (options.warn) {
      options.warn(warning);
    } else {
      std::cerr << "stacksnap: warning: " << warning << "\n";
    }
  }

  impl->workers = std::make_unique<net::thread_pool>(static_cast<size_t>(std::max(1, options.worker_threads)));
  impl->core.workers = impl->workers.get();
  int hashers = options.password_threads > 0 ? options.password_threads
                                             : (std::thread::hardware_concurrency() <= 2 ? 1 : 2);
  impl->password_pool = std::make_unique<net::thread_pool>(static_cast<size_t>(hashers));
  impl->core.password_pool = impl->password_pool.get();
  impl->core.password_limit = static_cast<size_t>(hashers) + options.password_queue;
  impl->work.emplace(impl->ioc.get_executor());
  impl->accept();
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    impl->threads.emplace_back([io = &impl->ioc] {
      while (true) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: an io handler threw: {}", e.what());
        }
      }
    });
  }
  impl->running = true;
  impl_ = std::move(impl);
  return {};
}

uint16_t Server::port() const { return impl_ ? impl_->port : 0; }

bool Server::tls() const { return impl_ && impl_->core.tls; }


void Server::stop() {
  if (!impl_ || !impl_->running) return;
  Impl& s = *impl_;
  s.running = false;
  s.core.stop.request_stop();
  net::post(s.acceptor.get_executor(), [&s] {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    s.retry_timer.cancel();
  });
  std::vector<std::shared_ptr<detail::ConnectionBase>> live;
  {
    std::lock_guard lk(s.core.mu);
    for (auto& [ptr, live_conn] : s.core.conns) {
      if (auto c = live_conn.conn.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) c->shutdown();
  live.clear();  // our references must not keep them open
  {
    std::unique_lock lk(s.core.mu);
    s.core.cv.wait_for(lk, s.core.opt.stop_grace, [&] { return s.core.conns.empty(); });
  }
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.workers->join();
  s.password_pool->join();
}

std::string Server::metrics_text() const {
  if (!impl_) return {};
  const auto& c = impl_->core;
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("stacksnap_http_connections_open", "gauge", "Open HTTP connections.",
         c.open_connections());
  metric("stacksnap_http_connections_total", "counter", "Accepted HTTP connections.", c.connections_total.load());
  metric("stacksnap_http_connections_rejected_total", "counter", "Connections closed at once (limit or stopping).",
         c.connections_rejected.load());
  metric("stacksnap_http_requests_total", "counter", "HTTP requests read.", c.requests_total.load());
  metric("stacksnap_http_received_bytes_total", "counter",
         "Bytes read from client connections (headers and bodies; refused bodies are not read).",
         c.bytes_received.load());
  out += "# HELP stacksnap_http_responses_total HTTP responses by status class.\n"
         "# TYPE stacksnap_http_responses_total counter\n";
  for (size_t i = 1; i <= 5; ++i) {
    out += "stacksnap_http_responses_total{class=\"" + std::to_string(i) + "xx\"} " +
           std::to_string(c.responses_by_class[i].load()) + "\n";
  }
  metric("stacksnap_sse_clients", "gauge", "Subscribed server-sent event clients.", hub_.subscriber_count());
  metric("stacksnap_sse_streams_total", "counter", "Server-sent event streams started.", c.sse_streams_total.load());
  metric("stacksnap_sse_overflows_total", "counter", "SSE clients told to reload because they fell behind.",
         hub_.overflow_count());
  return out;
}

}  // namespace stacksnap::http
