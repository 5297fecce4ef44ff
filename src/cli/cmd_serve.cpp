// stacksnap serve [--listen ADDR:PORT] [--tls-cert FILE --tls-key FILE] [--allow-insecure-listen]
//                 [--public-url URL] [--allowed-host NAME]... [--trusted-proxy ADDR[/BITS]]...
//                 [--secure-cookies]
// The appliance server: REST API, live events (SSE) and the dashboard. `stacksnap` with
// no subcommand runs it with the defaults. Runs until SIGINT or SIGTERM, then stops
// gracefully (in-flight requests finish, event streams close).
//
// At start: the data dir is made private (0700), the open-file limit raised (the
// connection cap follows it), and — while no admin exists — a one-time setup token is
// written to <data-dir>/setup-token (0600) and printed as a ready-to-open setup URL.
#include <signal.h>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/appliance.h"
#include "app/state.h"
#include "base/build_info.h"
#include "base/clock.h"
#include "base/process.h"
#include "base/scope.h"
#include "catalog/catalog.h"
#include "cli/globals.h"
#include "cli/job_runner.h"
#include "http/auth.h"
#include "http/core_routes.h"
#include "http/host_policy.h"
#include "http/job_stream.h"
#include "http/rate_limit.h"
#include "http/resource_routes.h"
#include "http/router.h"
#include "http/server.h"
#include "http/sse.h"

namespace stacksnap::cli {
namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert;
  std::string tls_key;
  bool allow_insecure = false;
  std::string public_url;
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> trusted_proxies;
  bool secure_cookies = false;
};

// What resource routes get to work with. Grows as the composition root wires in the job
// manager, targets and pipelines.
struct ServeContext {
  catalog::Catalog& catalog;
  http::SseHub& hub;
  http::AuthService& auth;
  app::Appliance& app;
};

// The resource routes (projects, targets, backups, jobs incl. /api/jobs/{id}/events,
// schedules, retention, notifications, settings, key): http/resource_routes.h over the
// appliance (app/appliance.h). Routes registered here get auth, CSRF, security headers
// and the error table for free; the auth matrix test covers them through
// Router::routes(). tests/integration/api_support.h composes the same way.
void register_resource_routes(http::Router& router, ServeContext& ctx) {
  http::register_resource_routes(router, ctx.app);
}

// "http://127.0.0.1:8080": the listen address with the bound port.
std::string listen_url(const ServeFlags& flags, const http::Server& server) {
  auto addr = http::parse_listen(flags.listen);
  std::string host = addr.ok() ? addr->display() : flags.listen;
  host = host.substr(0, host.rfind(':'));
  return (server.tls() ? "https://" : "http://") + host + ":" + std::to_string(server.port());
}

// Where a browser reaches the dashboard: the public URL, else the listen URL (a wildcard
// address as localhost, a name the server answers to).
std::string dashboard_url(const ServeFlags& flags, const http::Server& server) {
  std::string u = flags.public_url.empty() ? listen_url(flags, server) : flags.public_url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  for (std::string_view wildcard : {"://0.0.0.0:", "://[::]:"}) {
    if (size_t at = u.find(wildcard); at != std::string::npos) u.replace(at, wildcard.size(), "://localhost:");
  }
  return u;
}

// The first-run claim: prints the setup URL while no admin exists (`token` non-empty).
void announce_setup(const std::string& token, const std::string& url, const std::string& token_file) {
  if (token.empty()) return;
  std::cout << "No admin yet. Open this one-time setup URL to create it:\n"
            << "  " << url << "/?setup_token=" << token << "\n"
            << "(the token is also in " << token_file << "; it stops working once the admin exists)" << std::endl;
}

Status run_serve(const Globals& g, const ServeFlags& flags) {
  // SIGINT/SIGTERM are blocked before any thread starts (every thread inherits the mask)
  // and taken below with sigwait: no handler ever runs inside the server.
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  auto restore = on_scope_exit([&] { pthread_sigmask(SIG_SETMASK, &previous, nullptr); });

  auto cat = TRY(app::open_state(g.data_dir, print_note));
  const std::string db_path = g.data_dir + "/state.db";
  // Authentication gets its own connection: a long catalog query never delays a login
  // check on an io thread (SQLite serializes calls per connection).
  auto auth_db = TRY_CTX(catalog::Db::open(db_path), "open the state database");
  if (auto limit = raise_open_file_limit(); !limit.ok()) print_note("warning: " + limit.error().message());

  SystemClock clock;
  const std::string token_file = g.data_dir + "/setup-token";
  auto public_origin = http::parse_origin(flags.public_url);
  http::AuthService auth(*auth_db, clock,
                         {.setup_token_file = token_file,
                          .secure_cookies = flags.secure_cookies || (public_origin && public_origin->scheme == "https")});
  const std::string setup_token = TRY(auth.prepare_setup_token());
  http::LoginRateLimiter limiter(clock);
  http::SseHub hub;
  // Declared before the router and server: handlers use it until the server stopped.
  http::SsePublisher publisher(hub);
  app::Appliance appliance(*cat, publisher, clock, {.data_dir = g.data_dir});
  http::Router router(&auth);
  http::Server server(router, hub);

  http::register_core_routes(router, {.auth = auth, .limiter = limiter, .hub = hub, .metrics = [&server, &appliance] {
                                        return server.metrics_text() + appliance.metrics_text();
                                      }});
  ServeContext ctx{*cat, hub, auth, appliance};
  register_resource_routes(router, ctx);
  TRY(appliance.start());
  // In the StackSnap image: what the container does not share with the host (app/doctor.h).
  for (const auto& c : app::container_checks({.data_dir = g.data_dir, .docker = [&appliance] { return appliance.docker.get(); }})) {
    if (c.state != app::CheckState::kOk) {
      std::cerr << "stacksnap: warning: " << c.summary << (c.fix.empty() ? "" : "; fix: " + c.fix) << std::endl;
    }
  }

  http::ServerOptions options{.listen = flags.listen,
                              .tls_cert = flags.tls_cert,
                              .tls_key = flags.tls_key,
                              .insecure = flags.allow_insecure ? http::InsecureListen::kAllow
                                                               : http::InsecureListen::kRefuse,
                              .public_url = flags.public_url,
                              .allowed_hosts = flags.allowed_hosts,
                              .trusted_proxies = flags.trusted_proxies};
  TRY(server.start(options));
  std::cout << "StackSnap " << build_info().version << " (commit " << build_info().commit << ") listening on "
            << listen_url(flags, server) << " (data dir " << g.data_dir << ")" << std::endl;
  announce_setup(setup_token, dashboard_url(flags, server), token_file);

  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "Stopping (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ")…" << std::endl;
  server.stop();
  appliance.stop();  // running jobs are cancelled and awaited
  return {};
}

}  // namespace

void add_serve_command(CLI::App& root, Globals& g) {
  auto flags = std::make_shared<ServeFlags>();
  auto* cmd = root.add_subcommand("serve", "Run the server: REST API, live events and the dashboard (the default)");
  cmd->add_option("--listen", flags->listen, "Address and port to listen on")->capture_default_str();
  auto* cert = cmd->add_option("--tls-cert", flags->tls_cert, "TLS certificate chain (PEM)")->check(CLI::ExistingFile);
  auto* key = cmd->add_option("--tls-key", flags->tls_key, "TLS private key (PEM)")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  cmd->add_flag("--allow-insecure-listen", flags->allow_insecure,
                "Allow a non-loopback address without TLS (passwords and tokens travel in clear text)");
  cmd->add_option("--public-url", flags->public_url,
                  "The dashboard's address as browsers see it (e.g. https://backup.example.com): its host is "
                  "allowed, and https turns on Secure cookies and HSTS");
  cmd->add_option("--allowed-host", flags->allowed_hosts,
                  "Another host name or address the server answers to (repeatable; others get 421)");
  cmd->add_option("--trusted-proxy", flags->trusted_proxies,
                  "A reverse proxy address or ADDR/BITS whose X-Forwarded-For and X-Forwarded-Proto are believed "
                  "(repeatable)");
  cmd->add_flag("--secure-cookies", flags->secure_cookies,
                "Mark the session cookie Secure even over plain HTTP (behind a TLS-terminating proxy)");
  cmd->callback([&g, flags] { g.result = run_serve(g, *flags); });
}

Status serve_with_defaults(Globals& g) { return run_serve(g, ServeFlags{}); }

}  // namespace stacksnap::cli
