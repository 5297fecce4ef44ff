// Storage targets: CRUD and the connection test (docs/API.md, "Storage targets").
#include "app/appliance.h"
#include "app/job_params.h"
#include "app/target_ops.h"
#include "app/targets.h"
#include "base/scope.h"
#include "base/text.h"
#include "http/resource_routes.h"
#include "http/route_params.h"
#include "seal/crypto.h"

namespace stacksnap::http {
namespace {

using namespace resource;

Json target_json(const catalog::TargetRecord& t, std::optional<int64_t> backups = std::nullopt) {
  Json j{{"name", t.name}, {"kind", t.kind}, {"config", app::public_target_config(t)}, {"created_at", t.created_at}};
  if (backups) j["backups"] = *backups;
  return j;
}

// Validates (app/targets.h) and moves inline secrets into files named after `stem`.
Status prepare_config(app::Appliance& app, const std::string& stem, const std::string& kind, Json& cfg) {
  TRY(app::check_target_config(app.data_dir(), kind, cfg));
  TRY(app::store_inline_secrets(app.data_dir(), stem, cfg));
  return {};
}

}  // namespace

void register_target_routes(Router& router, app::Appliance& app) {
  router.get("/api/targets",
             [&app](Request&) -> Result<Response> {
               auto counts = TRY(catalog::copies_per_target(app.cat));
               Json list = Json::array();
               for (const auto& t : TRY(app.cat.list_targets())) {
                 list.push_back(target_json(t, counts.count(t.name) ? counts[t.name] : 0));
               }
               return Response::json(200, Json{{"targets", list}});
             },
             kBlocking);

  router.get("/api/targets/{name}",
             [&app](Request& req) -> Result<Response> {
               auto t = TRY(app.cat.get_target(req.param("name")));
               auto counts = TRY(catalog::copies_per_target(app.cat));
               return Response::json(200, target_json(t, counts.count(t.name) ? counts[t.name] : 0));
             },
             kBlocking);

  router.post("/api/targets",
              [&app](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                catalog::TargetRecord t;
                t.name = TRY(json_string(body, "name", 63));
                TRY(check_name("target", t.name));
                t.kind = TRY(json_string(body, "kind", 16));
                t.config = body.contains("config") ? body["config"] : Json::object();
                if (app.cat.get_target(t.name).ok()) return already_exists("a target named '" + t.name + "' already exists");
                app::set_new_target_defaults(t.config);
                TRY(prepare_config(app, app::target_secret_stem(t.name), t.kind, t.config));
                t.created_at = unix_seconds(app.clock.now());
                TRY(app.cat.add_target(t));
                app.changed("targets");
                return Response::json(201, target_json(t, 0));
              },
              {.access = Access::kUser, .exec = Exec::kBlocking, .body_limit = 512 * 1024});

  router.put("/api/targets/{name}",
             [&app](Request& req) -> Result<Response> {
               Json body = TRY(req.json_body());
               auto t = TRY(app.cat.get_target(req.param("name")));
               Json old = t.config;
               if (body.contains("kind")) t.kind = TRY(json_string(body, "kind", 16));
               if (!body.contains("config")) return invalid_argument("config is required");
               t.config = body["config"];
               TRY(prepare_config(app, app::target_secret_stem(t.name), t.kind, t.config));
               if (t.kind == "s3") app::keep_stored_secrets(old, t.config);
               app::keep_stored_format(old, t.config);
               TRY(app.cat.update_target(t));
               app.changed("targets");
               return Response::json(200, target_json(t));
             },
             {.access = Access::kUser, .exec = Exec::kBlocking, .body_limit = 512 * 1024});

  router.del("/api/targets/{name}",
             [&app](Request& req) -> Result<Response> {
               const bool force = req.query_param("force").value_or("") == "true";
               TRY(app::remove_target(app.cat, app.data_dir(), req.param("name"), force));
               app.changed("targets");
               return Response::no_content();
             },
             kBlocking);

  router.post("/api/targets/{name}/test",
              [&app](Request& req) -> Result<Response> {
                auto t = TRY(app.cat.get_target(req.param("name")));
                return Response::json(200, app::probe_target(t, app.open_target()).to_json());
              },
              kBlocking);

  // An unsaved config, or the edited config of a saved target ("name": its secrets are
  // kept when the edit names none, as PUT would keep them).
  router.post("/api/targets/test",
              [&app](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                const std::string kind = TRY(json_string(body, "kind", 16));
                const std::string name = TRY(opt_string(body, "name", "", 63));
                std::optional<catalog::TargetRecord> saved;
                if (!name.empty()) saved = TRY(app.cat.get_target(name));
                Json cfg = body.contains("config") ? body["config"] : Json::object();
                auto r = TRY(app::probe_target_config(app.data_dir(), app.open_target(), kind, std::move(cfg),
                                                      saved ? &*saved : nullptr));
                return Response::json(200, r.to_json());
              },
              {.access = Access::kUser, .exec = Exec::kBlocking, .body_limit = 512 * 1024});

  // A repository target's check and garbage collection, as jobs (app/repo_ops.h; the CLI's
  // `repo check|prune NAME`). Body: check {deep, read_data}; gc {dry_run}.
  for (const auto& [path, kind] : {std::pair{"/api/targets/{name}/check", "repo-check"},
                                    std::pair{"/api/targets/{name}/gc", "repo-gc"}}) {
    router.post(path,
                [&app, kind = std::string(kind)](Request& req) -> Result<Response> {
                  auto t = TRY(app.cat.get_target(req.param("name")));
                  Json params = req.body.empty() ? Json::object() : TRY(req.json_body());
                  if (!params.is_object()) return invalid_argument("the body must be a JSON object");
                  params["target"] = t.name;
                  // The runner's own parser: the request is refused here, not after queueing.
                  if (kind == "repo-check") TRY(app::repo_check_request(params));
                  else TRY(app::repo_gc_request(params));
                  TRY(app.keys.key());
                  return accepted(TRY(app.jobs.submit({.kind = kind, .params = params})));
                },
                kBlocking);
  }

  // Connect existing storage: the catalog rebuilt from what the target holds, as a job
  // (app::rebuild_catalog, also `stacksnap backups --target NAME`).
  router.post("/api/targets/{name}/rebuild",
              [&app](Request& req) -> Result<Response> {
                auto t = TRY(app.cat.get_target(req.param("name")));
                TRY(app.keys.key());
                auto job = TRY(app.jobs.submit({.kind = "rebuild", .params = Json{{"target", t.name}}}));
                return accepted(job);
              },
              kBlocking);
}

}  // namespace stacksnap::http
