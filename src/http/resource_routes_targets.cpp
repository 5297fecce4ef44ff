// Storage targets: CRUD and the connection test (docs/API.md, "Storage targets").
#include "app/appliance.h"
#include "app/targets.h"
#include "base/scope.h"
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

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  (void)seal::random_bytes(seal::byte_view_mut(raw.data(), raw.size()));
  return seal::hex_encode(as_bytes(raw));
}

// Write, read back, delete a probe object; timings per step.
Json probe(app::Appliance& app, const catalog::TargetRecord& rec) {
  Json steps = Json::array();
  auto fail = [&](const std::string& step, const Error& e) {
    return Json{{"ok", false}, {"step", step}, {"code", std::string(code_name(e.code()))}, {"message", e.message()},
                {"steps", steps}};
  };
  double t0 = monotonic_seconds();
  auto target = app.open_target()(rec);
  if (!target.ok()) return fail("open", target.error());
  std::string key = "stacksnap-probe/" + random_hex(8);
  std::string content = "stacksnap connection test " + random_hex(16);
  auto timed = [&](const std::string& step, const std::function<Status()>& fn) -> Status {
    double s = monotonic_seconds();
    Status st = fn();
    steps.push_back({{"step", step}, {"ok", st.ok()}, {"ms", static_cast<int64_t>((monotonic_seconds() - s) * 1000)}});
    return st;
  };
  if (auto st = timed("write", [&] { return storage::put_small(**target, key, content); }); !st.ok()) {
    return fail("write", st.error());
  }
  auto cleanup = on_scope_exit([&] { (void)(*target)->remove(key); });
  auto read = timed("read", [&]() -> Status {
    auto got = TRY(storage::get_small(**target, key, 4096));
    if (got != content) return data_loss("the probe read back differs from what was written");
    return {};
  });
  if (!read.ok()) return fail("read", read.error());
  if (auto st = timed("delete", [&] { return (*target)->remove(key); }); !st.ok()) return fail("delete", st.error());
  cleanup.dismiss();
  return Json{{"ok", true}, {"latency_ms", static_cast<int64_t>((monotonic_seconds() - t0) * 1000)},
              {"steps", steps}, {"describe", (*target)->describe()}};
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
                TRY(prepare_config(app, app::target_secret_stem(t.name), t.kind, t.config));
                t.created_at = unix_seconds(app.clock.now());
                TRY(app.cat.add_target(t));
                app.changed("targets");
                return Response::json(201, target_json(t, 0));
              },
              kBlocking);

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
               TRY(app.cat.update_target(t));
               app.changed("targets");
               return Response::json(200, target_json(t));
             },
             kBlocking);

  router.del("/api/targets/{name}",
             [&app](Request& req) -> Result<Response> {
               auto t = TRY(app.cat.get_target(req.param("name")));
               auto counts = TRY(catalog::copies_per_target(app.cat));
               bool force = req.query_param("force").value_or("") == "true";
               if (counts[t.name] > 0 && !force) {
                 return failed_precondition("target '" + t.name + "' holds " + std::to_string(counts[t.name]) +
                                            " backup(s); delete them first, or pass ?force=true to forget them "
                                            "(the files on storage are left alone)");
               }
               if (counts[t.name] > 0) TRY(catalog::forget_copies_on(app.cat, t.name));
               TRY(app.cat.remove_target(t.name));
               app::remove_secret_files(app.data_dir(), app::target_secret_stem(t.name));
               app.changed("targets");
               return Response::no_content();
             },
             kBlocking);

  router.post("/api/targets/{name}/test",
              [&app](Request& req) -> Result<Response> {
                auto t = TRY(app.cat.get_target(req.param("name")));
                return Response::json(200, probe(app, t));
              },
              kBlocking);

  router.post("/api/targets/test",
              [&app](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                catalog::TargetRecord t;
                t.name = "unsaved";
                t.kind = TRY(json_string(body, "kind", 16));
                t.config = body.contains("config") ? body["config"] : Json::object();
                std::string stem = "probe-" + random_hex(8);
                auto cleanup = on_scope_exit([&] { app::remove_secret_files(app.data_dir(), stem); });
                TRY(prepare_config(app, stem, t.kind, t.config));
                return Response::json(200, probe(app, t));
              },
              kBlocking);
}

}  // namespace stacksnap::http
