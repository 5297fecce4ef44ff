// The server's own routes, independent of pipelines and the job manager:
//   GET /api/health   public  → {"status":"ok","version","commit","build_date"} (base/build_info.h)
//   GET /api/events   user    SSE: dashboard-level changes (topic "dashboard")
//   GET /metrics      user    Prometheus text exposition (a Bearer token, or a session)
//   the account routes (auth_routes.h) and the dashboard files (static_files.h).
//
// Composition (cli/cmd_serve.cpp):
//   http::Router router(&auth);
//   http::register_core_routes(router, {.auth = auth, .limiter = limiter, .hub = hub, .metrics = …});
//   app::register_api_routes(router, …);   // resource routes: projects, backups, jobs, …
//   http::Server server(router, hub);  server.start(options);
#pragma once

#include <functional>
#include <string>

#include "http/auth.h"
#include "http/rate_limit.h"
#include "http/router.h"
#include "http/sse.h"

namespace stacksnap::http {

// Returns Prometheus text exposition (lines ending in '\n'). Called on the worker pool.
using MetricsProvider = std::function<std::string()>;

struct CoreRouteDeps {
  AuthService& auth;
  LoginRateLimiter& limiter;
  SseHub& hub;
  MetricsProvider metrics;  // may be empty: only the build info is exported
};

// Registers the routes above; `deps` members must outlive the router's use.
void register_core_routes(Router& router, const CoreRouteDeps& deps);

}  // namespace stacksnap::http
