// stacksnap serve [--listen ADDR:PORT] [--tls-cert FILE --tls-key FILE] [--allow-insecure-listen]
// The appliance server: REST API, live events (SSE) and the dashboard. `stacksnap` with
// no subcommand runs it with the defaults. Runs until SIGINT or SIGTERM, then stops
// gracefully (in-flight requests finish, event streams close).
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "app/appliance.h"
#include "base/build_info.h"
#include "base/clock.h"
#include "base/scope.h"
#include "catalog/catalog.h"
#include "cli/globals.h"
#include "http/auth.h"
#include "http/core_routes.h"
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

Status ensure_data_dir(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  std::filesystem::path p(dir);
  if (p.has_parent_path()) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return errno_error("create " + p.parent_path().string(), ec.value());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create data directory " + dir, errno);
  return {};
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

  TRY(ensure_data_dir(g.data_dir));
  const std::string db_path = g.data_dir + "/state.db";
  auto cat = TRY_CTX(catalog::Catalog::open(db_path), "open the state database");
  if (const auto& schema = cat->schema(); schema.migrated()) {
    std::cout << "State database upgraded from schema " << schema.found << " to " << schema.version
              << "; the one before is kept as " << schema.backup_path << " (for an older StackSnap)" << std::endl;
  }
  // Authentication gets its own connection: a long catalog query never delays a login
  // check on an io thread (SQLite serializes calls per connection).
  auto auth_db = TRY_CTX(catalog::Db::open(db_path), "open the state database");

  SystemClock clock;
  http::AuthService auth(*auth_db, clock);
  http::LoginRateLimiter limiter(clock);
  http::SseHub hub;
  // Declared before the router and server: handlers use it until the server stopped.
  app::Appliance appliance(*cat, hub, clock, {.data_dir = g.data_dir});
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
                                                               : http::InsecureListen::kRefuse};
  TRY(server.start(options));
  auto addr = http::parse_listen(flags.listen);
  std::string host = addr.ok() ? addr->display() : flags.listen;
  host = host.substr(0, host.rfind(':')) + ":" + std::to_string(server.port());
  std::cout << "StackSnap " << build_info().version << " (commit " << build_info().commit << ") listening on " << (server.tls() ? "https://" : "http://") << host
            << " (data dir " << g.data_dir << ")" << std::endl;
  auto needs_setup = auth.needs_setup();
  if (needs_setup.ok() && *needs_setup) {
    std::cout << "No admin password yet: open the dashboard to set it." << std::endl;
  }

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
  cmd->callback([&g, flags] { g.result = run_serve(g, *flags); });
}

Status serve_with_defaults(Globals& g) { return run_serve(g, ServeFlags{}); }

}  // namespace stacksnap::cli
