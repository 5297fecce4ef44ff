// Backups and jobs (docs/API.md, "Backups", "Jobs").
#include "app/appliance.h"
#include "repo/snapshot.h"
#include "http/job_stream.h"
#include "http/resource_routes.h"
#include "app/job_params.h"
#include "catalog/record_json.h"
#include "http/route_params.h"
#include "restore/compose.h"
#include "stack/discovery.h"

namespace stacksnap::http {
namespace {

using namespace resource;

// Streams a stored object while keeping its target open.
class OwningReader final : public Reader {
 public:
  OwningReader(std::unique_ptr<storage::Target> t, std::unique_ptr<Reader> r)
      : target_(std::move(t)), reader_(std::move(r)) {}
  Result<size_t> read(MutableBytes buf) override { return reader_->read(buf); }

 private:
  std::unique_ptr<storage::Target> target_;
  std::unique_ptr<Reader> reader_;
};

Status require_free(app::Appliance& app, const std::string& project) {
  if (auto a = app.jobs.active_for(project)) {
    return failed_precondition("a " + a->kind + " of " + project + " is already " +
                               (a->running ? "running" : "queued") + " (job " + std::to_string(a->id) + ")");
  }
  return {};
}

}  // namespace

void register_backup_routes(Router& router, app::Appliance& app) {
  // ---- backups ----
  router.get("/api/backups",
             [&app](Request& req) -> Result<Response> {
               catalog::BackupFilter f{.project = req.query_param("project").value_or(""),
                                       .target = req.query_param("target").value_or(""),
                                       .limit = static_cast<int>(TRY(int_query(req, "limit", 0, 0, 100000)))};
               Json list = Json::array();
               for (const auto& b : TRY(app.cat.list_backups(f))) list.push_back(catalog::to_json(b, {.details = false}));
               return Response::json(200, Json{{"backups", list}});
             },
             kBlocking);

  router.post("/api/backups",
              [&app](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string project = TRY(json_string(body, "project", 255));
                body.erase("project");
                body["reason"] = "manual";
                auto request = TRY(app::backup_request(project, body));
                TRY(app.keys.key());
                auto all = TRY(app.cat.list_targets());
                if (all.empty()) return failed_precondition("no storage target yet: add one first (POST /api/targets)");
                for (const auto& t : request.targets) TRY(app.cat.get_target(t));
                auto* docker = TRY(app.docker.get());
                TRY(stack::discover_project(*docker, project, {.detect_by_process = false, .read_compose_files = false}));
                auto job = TRY(app.jobs.submit({.kind = "backup", .project = project, .params = app::to_params(request)}));
                return accepted(job);
              },
              kBlocking);

  router.get("/api/backups/{id}",
             [&app](Request& req) -> Result<Response> {
               return Response::json(200, catalog::to_json(TRY(app.cat.get_backup(req.param("id")))));
             },
             kBlocking);

  router.post("/api/backups/{id}/verify",
              [&app](Request& req) -> Result<Response> {
                auto b = TRY(app.cat.get_backup(req.param("id")));
                Json body = req.body.empty() ? Json::object() : TRY(req.json_body());
                const auto request = TRY(app::verify_request(b.id, body));
                if (!request.shallow) TRY(app.keys.key());
                auto job = TRY(app.jobs.submit({.kind = "verify", .project = b.project, .backup_id = b.id,
                                                .params = app::to_params(request)}));
                return accepted(job);
              },
              kBlocking);

  router.post("/api/backups/{id}/restore",
              [&app](Request& req) -> Result<Response> {
                auto b = TRY(app.cat.get_backup(req.param("id")));
                Json body = req.body.empty() ? Json::object() : TRY(req.json_body());
                const auto request = TRY(app::restore_request(b.id, b.project, body));
                if (!app.jobs.has_runner("restore")) return unimplemented("restore is not available in this server build");
                TRY(app.keys.key());
                const std::string project = app::restore_project(request, b.project);
                auto job = TRY(app.jobs.submit({.kind = "restore", .project = project, .backup_id = b.id,
                                                .params = app::to_params(request)}));
                return accepted(job);
              },
              kBlocking);

  router.post("/api/backups/{id}/drill",
              [&app](Request& req) -> Result<Response> {
                auto b = TRY(app.cat.get_backup(req.param("id")));
                Json body = req.body.empty() ? Json::object() : TRY(req.json_body());
                const auto request = TRY(app::drill_request(b.id, body));
                if (!app.jobs.has_runner("drill")) return unimplemented("drills are not available in this server build");
                TRY(app.keys.key());
                auto job = TRY(app.jobs.submit({.kind = "drill", .project = b.project, .backup_id = b.id,
                                                .params = app::to_params(request)}));
                return accepted(job);
              },
              kBlocking);

  router.del("/api/backups/{id}",
             [&app](Request& req) -> Result<Response> {
               auto b = TRY(app.cat.get_backup(req.param("id")));
               TRY(require_free(app, b.project));
               TRY(app::delete_backup(app.cat, b.id, "*", app.open_target()));
               app.publisher.dashboard("backup_deleted", Json{{"backup_id", b.id}, {"project", b.project}});
               return Response::no_content();
             },
             kBlocking);

  router.get("/api/backups/{id}/download",
             [&app](Request& req) -> Result<Response> {
               auto b = TRY(app.cat.get_backup(req.param("id")));
               std::string want = req.query_param("target").value_or("");
               std::optional<Error> last;
               for (const auto& copy : b.copies) {
                 if (!want.empty() && copy.target != want) continue;
                 auto rec = app.cat.get_target(copy.target);
                 if (!rec.ok()) continue;
                 auto target = app.open_target()(*rec);
                 if (!target.ok()) {
                   last = target.error();
                   continue;
                 }
                 if (const std::string snap = repo::snapshot_id_of_key(copy.key); !snap.empty()) {
                   // A repository snapshot: exported as the archive it is an image of, as
                   // it streams (its length is not known before: chunked).
                   auto key = app.keys.key();
                   if (!key.ok()) return std::move(key).error();
                   auto keysrc = seal::KeySource::from_key(TRY((*key)->clone()));
                   std::shared_ptr<storage::Target> shared = std::move(*target);
                   auto exported = repo::open_export(std::move(shared), snap, keysrc, {});
                   if (!exported.ok()) {
                     last = exported.error();
                     continue;
                   }
                   return Response::streaming(std::move(*exported), "application/octet-stream")
                       .with_header("Content-Disposition", "attachment; filename=\"" + b.id + ".stsnap\"");
                 }
                 auto in = (*target)->get(copy.key);
                 if (!in.ok()) {
                   last = in.error();
                   continue;
                 }
                 auto reader = std::make_unique<OwningReader>(std::move(*target), std::move(*in));
                 return Response::streaming(std::move(reader), "application/octet-stream", copy.size)
                     .with_header("Content-Disposition", "attachment; filename=\"" + b.id + ".stsnap\"");
               }
               if (last) return std::move(*last).with_context("download " + b.id);
               return not_found("backup " + b.id + " has no copy" + (want.empty() ? "" : " on target '" + want + "'"));
             },
             kBlocking);

  // ---- jobs ----
  router.get("/api/jobs",
             [&app](Request& req) -> Result<Response> {
               catalog::JobFilter f{.project = req.query_param("project").value_or(""),
                                    .kind = req.query_param("kind").value_or(""),
                                    .state = req.query_param("state").value_or(""),
                                    .limit = static_cast<int>(TRY(int_query(req, "limit", 100, 1, 1000)))};
               if (!f.state.empty() && !catalog::parse_job_state(f.state)) {
                 return invalid_argument("state must be queued, running, succeeded, failed, cancelled or interrupted");
               }
               Json list = Json::array();
               for (const auto& j : TRY(catalog::find_jobs(app.cat, f))) list.push_back(catalog::to_json(j));
               return Response::json(200, Json{{"jobs", list}});
             },
             kBlocking);

  router.get("/api/jobs/{id}",
             [&app](Request& req) -> Result<Response> {
               return Response::json(200, catalog::to_json(TRY(app.cat.get_job(TRY(id_param(req, "id"))))));
             },
             kBlocking);

  router.post("/api/jobs/{id}/cancel",
              [&app](Request& req) -> Result<Response> {
                auto j = TRY(app.jobs.cancel(TRY(id_param(req, "id"))));
                return Response::json(202, catalog::to_json(j));
              },
              kBlocking);
}

}  // namespace stacksnap::http
