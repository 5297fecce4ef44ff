#include "http/core_routes.h"

#include "base/build_info.h"
#include "http/auth_routes.h"
#include "http/job_stream.h"
#include "http/static_files.h"

namespace stacksnap::http {

void register_core_routes(Router& router, const CoreRouteDeps& deps) {
  router.get("/api/health",
             [](Request&) -> Result<Response> {
               const BuildInfo& b = build_info();
               return Response::json(200, Json{{"status", "ok"},
                                               {"version", b.version},
                                               {"commit", b.commit},
                                               {"build_date", b.date}});
             },
             {.access = Access::kPublic});

  register_auth_routes(router, deps.auth, deps.limiter);

  deps.hub.keep_history(kDashboardTopic, kDashboardHistory);
  router.sse("/api/events", [](Request&) -> Result<SseSource> { return SseSource{.topic = kDashboardTopic}; },
             {.exec = Exec::kInline});

  router.get("/metrics",
             [metrics = deps.metrics](Request&) -> Result<Response> {
               const BuildInfo& b = build_info();
               std::string text = "# HELP stacksnap_build_info Build information.\n"
                                  "# TYPE stacksnap_build_info gauge\n"
                                  "stacksnap_build_info{version=\"" + std::string(b.version) + "\",commit=\"" +
                                  std::string(b.commit) + "\"} 1\n";
               if (metrics) text += metrics();
               return Response::text(200, std::move(text), "text/plain; version=0.0.4; charset=utf-8");
             },
             {.exec = Exec::kBlocking});

  router.set_fallback([](Request& req) -> Result<Response> { return serve_dashboard(req); });
}

}  // namespace stacksnap::http
