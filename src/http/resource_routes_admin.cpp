// Onboarding, the encryption key, notifications and settings (docs/API.md).
#include "app/appliance.h"
#include "http/resource_routes.h"
#include "http/route_params.h"

namespace stacksnap::http {
namespace {

using namespace resource;

// The URL carries the receiver's token: only its masked form is ever sent back.
Json notification_json(const catalog::NotificationRecord& n) {
  return Json{{"id", n.id},           {"name", n.name},       {"kind", n.kind},         {"url", notify::masked_url(n.url)},
              {"on_success", n.on_success}, {"on_failure", n.on_failure}, {"enabled", n.enabled},
              {"created_at", n.created_at}};
}

// Fills `n` from a body; `partial` allows missing fields (PUT). A PUT that sends back the
// masked URL it was shown keeps the stored one.
Status read_notification(const Json& body, catalog::NotificationRecord& n, bool partial) {
  if (!partial || body.contains("name")) n.name = TRY(json_string(body, "name", 63));
  TRY(check_name("notification", n.name));
  if (!partial || body.contains("kind")) n.kind = TRY(json_string(body, "kind", 32));
  TRY(notify::parse_kind(n.kind));
  if (!partial || body.contains("url")) {
    std::string url = TRY(json_string(body, "url", 2048));
    if (!partial || url != notify::masked_url(n.url)) n.url = std::move(url);
  }
  TRY(notify::check_url(n.url));
  n.on_success = TRY(opt_bool(body, "on_success", n.on_success));
  n.on_failure = TRY(opt_bool(body, "on_failure", n.on_failure));
  n.enabled = TRY(opt_bool(body, "enabled", n.enabled));
  return {};
}

}  // namespace

void register_admin_routes(Router& router, app::Appliance& app) {
  // ---- onboarding and key ----
  router.get("/api/onboarding",
             [&app](Request&) -> Result<Response> {
               auto targets = TRY(app.cat.list_targets());
               Json key = app.keys.status();
               bool complete = !targets.empty() && key["configured"].get<bool>() && key["unlocked"].get<bool>();
               return Response::json(200, Json{{"admin", true}, {"targets", targets.size()}, {"key", key},
                                               {"complete", complete}});
             },
             kBlocking);

  router.get("/api/key", [&app](Request&) -> Result<Response> { return Response::json(200, app.keys.status()); },
             kBlocking);

  // `stacksnap doctor` (app/doctor.h): 200 whatever the checks found; "ok" says it.
  router.get("/api/doctor", [&app](Request&) -> Result<Response> { return Response::json(200, app.doctor().to_json()); },
             kBlocking);

  router.post("/api/key",
              [&app](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string mode = TRY(json_string(body, "mode", 32));
                Json out;
                if (mode == "generate") {
                  std::string hex = TRY(app.keys.generate());
                  out = Json{{"source", "key-file"}, {"recovery_key", hex}};
                } else if (mode == "passphrase") {
                  std::string pass = TRY(json_string(body, "passphrase", 1024));
                  TRY(app.keys.set_passphrase(pass));
                  out = Json{{"source", "passphrase"}};
                } else if (mode == "import") {
                  std::string key = TRY(json_string(body, "key", 6000));
                  if (TRY(opt_bool(body, "check_only", false))) {
                    // The fingerprint shown before anything is saved.
                    auto parsed = TRY(app::parse_recovery_key(key));
                    return Response::json(200, Json{{"fingerprint", parsed.fingerprint}, {"saved", false}});
                  }
                  TRY(app.keys.import_hex(key));
                  out = Json{{"source", "key-file"}};
                } else {
                  return invalid_argument("mode must be generate, passphrase or import");
                }
                out["fingerprint"] = app.keys.status()["fingerprint"];
                app.changed("key");
                return Response::json(201, out);
              },
              {.access = Access::kUser, .exec = Exec::kBlocking, .body_limit = 8192});

  router.post("/api/key/unlock",
              [&app](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string pass = TRY(json_string(body, "passphrase", 1024));
                TRY(app.keys.unlock(pass));
                app.changed("key");
                return Response::json(200, app.keys.status());
              },
              {.access = Access::kUser, .exec = Exec::kBlocking, .body_limit = 8192});

  // ---- settings ----
  router.get("/api/settings",
             [&app](Request&) -> Result<Response> { return Response::json(200, TRY(app.settings())); }, kBlocking);
  router.put("/api/settings",
             [&app](Request& req) -> Result<Response> {
               Json body = TRY(req.json_body());
               return Response::json(200, TRY(app.update_settings(body)));
             },
             kBlocking);

  // ---- notifications ----
  router.get("/api/notifications",
             [&app](Request&) -> Result<Response> {
               Json list = Json::array();
               for (const auto& n : TRY(catalog::list_notifications(app.cat))) list.push_back(notification_json(n));
               return Response::json(200, Json{{"notifications", list}});
             },
             kBlocking);
  router.post("/api/notifications",
              [&app](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                catalog::NotificationRecord n;
                TRY(read_notification(body, n, false));
                n.created_at = unix_seconds(app.clock.now());
                n.id = TRY(catalog::add_notification(app.cat, n));
                app.changed("notifications");
                return Response::json(201, notification_json(n));
              },
              kBlocking);
  router.get("/api/notifications/{id}",
             [&app](Request& req) -> Result<Response> {
               auto n = TRY(catalog::get_notification(app.cat, TRY(id_param(req, "id"))));
               return Response::json(200, notification_json(n));
             },
             kBlocking);
  router.put("/api/notifications/{id}",
             [&app](Request& req) -> Result<Response> {
               Json body = TRY(req.json_body());
               auto n = TRY(catalog::get_notification(app.cat, TRY(id_param(req, "id"))));
               TRY(read_notification(body, n, true));
               TRY(catalog::update_notification(app.cat, n));
               app.changed("notifications");
               return Response::json(200, notification_json(n));
             },
             kBlocking);
  router.del("/api/notifications/{id}",
             [&app](Request& req) -> Result<Response> {
               TRY(catalog::remove_notification(app.cat, TRY(id_param(req, "id"))));
               app.changed("notifications");
               return Response::no_content();
             },
             kBlocking);
  router.post("/api/notifications/{id}/test",
              [&app](Request& req) -> Result<Response> {
                auto n = TRY(catalog::get_notification(app.cat, TRY(id_param(req, "id"))));
                auto d = app.test_notification(n);
                Json out{{"ok", d.ok}, {"status", d.status}, {"attempts", d.attempts}};
                if (!d.ok) out["message"] = d.message;
                return Response::json(200, out);
              },
              kBlocking);
}

}  // namespace stacksnap::http
