// Projects, schedules and retention policies (docs/API.md).
#include <set>

#include "app/appliance.h"
#include "app/sqlite_inventory.h"
#include "http/resource_routes.h"
#include "catalog/record_json.h"
#include "http/route_params.h"
#include "retention/apply.h"
#include "retention/policy.h"
#include "schedule/cron.h"
#include "stack/discovery.h"
#include "stack/model_json.h"

namespace stacksnap::http {
namespace {

using namespace resource;

Json schedule_json(const catalog::ScheduleRecord& s) {
  Json j{{"project", s.project},   {"cron", s.cron},           {"timezone", s.timezone},
         {"jitter_s", s.jitter_s}, {"enabled", s.enabled},     {"safe_mode", s.safe_mode},
         {"targets", s.targets},   {"drill_cron", s.drill_cron}, {"last_run", s.last_run},
         {"next_run", s.next_run}, {"last_drill", s.last_drill}, {"next_drill", nullptr}};
  if (auto e = schedule::CronExpr::parse(s.cron); e.ok()) j["description"] = e->describe();
  if (!s.drill_cron.empty() && s.last_drill > 0) {
    if (auto n = app::next_slot(s.drill_cron, s.timezone, s.last_drill); n.ok()) j["next_drill"] = *n;
  }
  return j;
}

Json retention_json(const catalog::RetentionRecord& r) {
  Json j{{"project", r.project}, {"target", r.target}, {"policy", r.policy}};
  if (auto p = retention::Policy::from_json(r.policy); p.ok()) j["description"] = p->describe();
  return j;
}

Json last_backup_json(const std::vector<catalog::BackupRecord>& newest) {
  if (newest.empty()) return nullptr;
  return catalog::to_json(newest.front(), {.copies = false, .details = false});
}

// The project's targets and how storing there went: [{target, last_success_at,
// last_failure_at, failing_since (0: fine), last_error}].
Json target_health_json(const std::vector<catalog::TargetHealth>& rows, const std::string& project) {
  Json out = Json::array();
  for (const auto& h : rows) {
    if (h.project != project) continue;
    out.push_back({{"target", h.target},
                   {"last_success_at", h.last_success_at},
                   {"last_failure_at", h.last_failure_at},
                   {"failing_since", h.failing_since},
                   {"last_error", h.failing_since > 0 ? h.last_error : std::string()}});
  }
  return out;
}

Json running_json(app::Appliance& app, const std::string& project) {
  auto a = app.jobs.active_for(project);
  if (!a) return nullptr;
  return Json{{"id", a->id}, {"kind", a->kind}, {"state", a->running ? "running" : "queued"}};
}

std::vector<std::string> engines_of(const stack::Project& p) {
  std::set<std::string> out;
  for (const auto& s : p.services) {
    if (s.engine.engine != stack::Engine::kNone && !s.excluded) out.insert(std::string(stack::engine_name(s.engine.engine)));
  }
  return {out.begin(), out.end()};
}

// Reads a policy from a body's keep_* fields.
Result<Json> policy_from_body(const Json& body) {
  Json p = Json::object();
  for (const char* k : {"keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"}) {
    if (!body.contains(k)) continue;
    if (!body[k].is_number_integer() || body[k].get<int64_t>() < 0 || body[k].get<int64_t>() > 100000) {
      return invalid_argument(std::string("'") + k + "' must be a non-negative integer");
    }
    p[k] = body[k];
  }
  auto policy = TRY(retention::Policy::from_json(p));
  return policy.to_json();
}

}  // namespace

void register_project_routes(Router& router, app::Appliance& app) {
  // ---- projects ----
  router.get("/api/projects",
             [&app](Request&) -> Result<Response> {
               auto projects = TRY(app.projects.get());
               std::map<std::string, catalog::ScheduleRecord> schedules;
               for (auto& s : TRY(catalog::list_schedules(app.cat))) schedules[s.project] = s;
               const auto health = TRY(catalog::list_target_health(app.cat));
               Json list = Json::array();
               std::set<std::string> seen;
               auto row = [&](const std::string& name, const stack::Project* p) -> Result<Json> {
                 Json j{{"name", name}};
                 j["state"] = p ? std::string(stack::project_state_name(p->state)) : "absent";
                 j["services"] = p ? p->services.size() : 0;
                 j["engines"] = p ? engines_of(*p) : std::vector<std::string>{};
                 j["volumes"] = p ? p->volumes.size() : 0;
                 j["binds"] = p ? p->binds.size() : 0;
                 j["warnings"] = p ? p->warnings : std::vector<std::string>{};
                 j["last_backup"] = last_backup_json(TRY(app.cat.list_backups({.project = name, .limit = 1})));
                 j["targets"] = target_health_json(health, name);
                 auto it = schedules.find(name);
                 j["schedule"] = it == schedules.end()
                                     ? Json(nullptr)
                                     : Json{{"cron", it->second.cron}, {"timezone", it->second.timezone},
                                            {"enabled", it->second.enabled}, {"next_run", it->second.next_run}};
                 j["running_job"] = running_json(app, name);
                 return j;
               };
               for (const auto& p : projects) {
                 seen.insert(p.name);
                 list.push_back(TRY(row(p.name, &p)));
               }
               std::set<std::string> absent;
               for (const auto& b : TRY(app.cat.list_backups())) {
                 if (!seen.count(b.project)) absent.insert(b.project);
               }
               for (const auto& name : absent) list.push_back(TRY(row(name, nullptr)));
               return Response::json(200, Json{{"projects", list}});
             },
             kBlocking);

  router.get("/api/projects/{name}",
             [&app](Request& req) -> Result<Response> {
               std::string name = req.param("name");
               auto* docker = TRY(app.docker.get());
               auto p = stack::discover_project(*docker, name);
               auto backups = TRY(app.cat.list_backups({.project = name}));
               if (!p.ok() && (p.error().code() != Code::kNotFound || backups.empty())) return std::move(p).error();
               auto sched = TRY(catalog::get_schedule(app.cat, name));
               Json ret = Json::array();
               for (const auto& r : TRY(catalog::list_retention(app.cat, name))) ret.push_back(retention_json(r));
               // "project" is what `stacksnap projects NAME --json` lists; "sqlite" repeats its
               // "sqlite" where the first version of this route had it.
               const Json project = p.ok() ? Json(app::project_json(*docker, *p)) : Json(nullptr);
               Json j{{"name", name},
                      {"state", p.ok() ? std::string(stack::project_state_name(p->state)) : "absent"},
                      {"project", project},
                      {"sqlite", p.ok() ? project["sqlite"] : Json(nullptr)},
                      {"engines", p.ok() ? engines_of(*p) : std::vector<std::string>{}},
                      {"last_backup", last_backup_json(backups)},
                      {"targets", target_health_json(TRY(catalog::list_target_health(app.cat, name)), name)},
                      {"backups", backups.size()},
                      {"schedule", sched ? schedule_json(*sched) : Json(nullptr)},
                      {"next_run", sched && sched->enabled ? Json(sched->next_run) : Json(nullptr)},
                      {"retention", ret},
                      {"running_job", running_json(app, name)}};
               return Response::json(200, j);
             },
             kBlocking);

  // ---- schedules ----
  router.get("/api/schedules",
             [&app](Request&) -> Result<Response> {
               Json list = Json::array();
               for (const auto& s : TRY(catalog::list_schedules(app.cat))) list.push_back(schedule_json(s));
               return Response::json(200, Json{{"schedules", list}});
             },
             kBlocking);

  router.get("/api/projects/{name}/schedule",
             [&app](Request& req) -> Result<Response> {
               auto s = TRY(catalog::get_schedule(app.cat, req.param("name")));
               if (!s) return not_found("project '" + req.param("name") + "' has no schedule");
               return Response::json(200, schedule_json(*s));
             },
             kBlocking);

  router.put("/api/projects/{name}/schedule",
             [&app](Request& req) -> Result<Response> {
               Json body = TRY(req.json_body());
               std::string project = req.param("name");
               auto old = TRY(catalog::get_schedule(app.cat, project));
               catalog::ScheduleRecord s = old.value_or(catalog::ScheduleRecord{});
               s.project = project;
               s.cron = TRY(json_string(body, "cron", 200));
               s.timezone = TRY(opt_string(body, "timezone", s.timezone.empty() ? "UTC" : s.timezone, 100));
               TRY(schedule::CronExpr::parse(s.cron));
               TRY(schedule::check_zone(s.timezone));
               if (body.contains("jitter_s")) {
                 if (!body["jitter_s"].is_number_integer() || body["jitter_s"].get<int64_t>() < 0 ||
                     body["jitter_s"].get<int64_t>() > app::kMaxJitterSeconds) {
                   return invalid_argument("jitter_s must be an integer from 0 to 3600");
                 }
                 s.jitter_s = body["jitter_s"].get<int64_t>();
               }
               s.enabled = TRY(opt_bool(body, "enabled", s.enabled));
               s.safe_mode = TRY(opt_bool(body, "safe_mode", s.safe_mode));
               if (body.contains("targets")) {
                 if (!body["targets"].is_array()) return invalid_argument("'targets' must be an array of names");
                 s.targets.clear();
                 for (const auto& t : body["targets"]) {
                   if (!t.is_string()) return invalid_argument("'targets' must be an array of names");
                   TRY(app.cat.get_target(t.get<std::string>()));
                   s.targets.push_back(t.get<std::string>());
                 }
               }
               std::string drill = TRY(opt_string(body, "drill_cron", s.drill_cron, 200));
               if (!drill.empty()) TRY_CTX(schedule::CronExpr::parse(drill), "drill_cron");
               if (drill != s.drill_cron) s.last_drill = 0;
               s.drill_cron = drill;
               // Recompute from now: an edited schedule never fires for a slot in the past.
               int64_t now = unix_seconds(app.clock.now());
               s.next_run = TRY(app::next_slot(s.cron, s.timezone, now)) + app::random_jitter(s.jitter_s);
               if (!s.drill_cron.empty() && s.last_drill == 0) s.last_drill = now;
               TRY(catalog::put_schedule(app.cat, s));
               app.scheduler.wake();
               app.changed("schedules");
               return Response::json(200, schedule_json(s));
             },
             kBlocking);

  router.del("/api/projects/{name}/schedule",
             [&app](Request& req) -> Result<Response> {
               TRY(catalog::remove_schedule(app.cat, req.param("name")));
               app.changed("schedules");
               return Response::no_content();
             },
             kBlocking);

  router.post("/api/schedules/preview",
              [](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string cron = TRY(json_string(body, "cron", 200));
                std::string tz = TRY(opt_string(body, "timezone", "UTC", 100));
                int64_t count = 5;
                if (body.contains("count")) {
                  if (!body["count"].is_number_integer() || body["count"].get<int64_t>() < 1 ||
                      body["count"].get<int64_t>() > 50) {
                    return invalid_argument("count must be from 1 to 50");
                  }
                  count = body["count"].get<int64_t>();
                }
                auto expr = TRY(schedule::CronExpr::parse(cron));
                TRY(schedule::check_zone(tz));
                Json next = Json::array();
                int64_t t = unix_seconds(std::chrono::system_clock::now());
                for (int64_t i = 0; i < count; ++i) {
                  auto n = app::next_slot(cron, tz, t);
                  if (!n.ok()) break;
                  next.push_back(*n);
                  t = *n;
                }
                return Response::json(200, Json{{"description", expr.describe()}, {"next", next}});
              },
              kBlocking);

  // ---- retention ----
  router.get("/api/retention",
             [&app](Request&) -> Result<Response> {
               Json list = Json::array();
               for (const auto& r : TRY(catalog::list_retention(app.cat))) list.push_back(retention_json(r));
               return Response::json(200, Json{{"policies", list}});
             },
             kBlocking);

  router.get("/api/projects/{name}/retention",
             [&app](Request& req) -> Result<Response> {
               Json list = Json::array();
               for (const auto& r : TRY(catalog::list_retention(app.cat, req.param("name")))) {
                 list.push_back(retention_json(r));
               }
               return Response::json(200, Json{{"policies", list}});
             },
             kBlocking);

  router.put("/api/projects/{name}/retention",
             [&app](Request& req) -> Result<Response> {
               Json body = TRY(req.json_body());
               catalog::RetentionRecord r{.project = req.param("name"),
                                          .target = TRY(opt_string(body, "target", "*", 63)),
                                          .policy = TRY(policy_from_body(body))};
               if (r.target != "*") TRY(app.cat.get_target(r.target));
               TRY(catalog::put_retention(app.cat, r));
               app.changed("retention");
               return Response::json(200, retention_json(r));
             },
             kBlocking);

  router.del("/api/projects/{name}/retention",
             [&app](Request& req) -> Result<Response> {
               TRY(catalog::remove_retention(app.cat, req.param("name"), req.query_param("target").value_or("*")));
               app.changed("retention");
               return Response::no_content();
             },
             kBlocking);

  router.post("/api/projects/{name}/retention/preview",
              [&app](Request& req) -> Result<Response> {
                std::string project = req.param("name");
                Json body = req.body.empty() ? Json::object() : TRY(req.json_body());
                std::string target = TRY(opt_string(body, "target", "*", 63));
                Json policy;
                bool given = false;
                for (const char* k : {"keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"}) {
                  given = given || body.contains(k);
                }
                if (given) {
                  policy = TRY(policy_from_body(body));
                } else {
                  for (const auto& r : TRY(catalog::list_retention(app.cat, project))) {
                    if (r.target == target) policy = r.policy;
                  }
                  if (policy.is_null()) {
                    return not_found("project '" + project + "' has no retention policy for target '" + target + "'");
                  }
                }
                return Response::json(200, TRY(app::preview_retention(app.cat, project, target, policy)));
              },
              kBlocking);

  router.post("/api/projects/{name}/prune",
              [&app](Request& req) -> Result<Response> {
                std::string project = req.param("name");
                Json body = req.body.empty() ? Json::object() : TRY(req.json_body());
                if (TRY(catalog::list_retention(app.cat, project)).empty()) {
                  return failed_precondition("project '" + project + "' has no retention policy");
                }
                if (TRY(opt_bool(body, "dry_run", false))) {
                  // The plan the prune job applies (and `stacksnap prune --project P --dry-run` prints).
                  Json j = retention::to_json(TRY(retention::plan_prune(app.cat, {.project = project})));
                  j["dry_run"] = true;
                  return Response::json(200, j);
                }
                return accepted(TRY(app.jobs.submit({.kind = "prune", .project = project})));
              },
              kBlocking);
}

}  // namespace stacksnap::http
