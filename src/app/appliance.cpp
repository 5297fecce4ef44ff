#include "app/appliance.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <set>

#include "backup/quiesce.h"
#include "docker/helper_container.h"
#include "stack/discovery.h"

namespace stacksnap::app {
namespace {

int64_t now_s() { return unix_seconds(std::chrono::system_clock::now()); }

// Every path some process on this host has open (/proc/*/fd), to tell a live spool
// file (a CLI backup running beside the server) from an orphan.
std::set<std::string> open_paths() {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& p : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = p.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec2;
    for (const auto& fd : std::filesystem::directory_iterator(p.path() / "fd", ec2)) {
      std::error_code ec3;
      auto target = std::filesystem::read_symlink(fd.path(), ec3);
      if (!ec3) out.insert(target.string());
    }
  }
  return out;
}

constexpr auto kStaleUploadAge = std::chrono::hours(1);

}  // namespace

Result<docker::Client*> DockerProvider::get() {
  std::lock_guard lk(mu_);
  if (!client_) {
    docker::Client::Options o;
    o.docker_host = host_;
    client_ = TRY(docker::Client::connect(o));
  }
  return client_.get();
}

Appliance::Appliance(catalog::Catalog& c, job::Publisher& p, const Clock& clk, ApplianceOptions options)
    : cat(c),
      publisher(p),
      clock(clk),
      docker(options.docker_host),
      keys(options.data_dir),
      jobs(c, p,
           {.threads = options.job_threads,
            .max_concurrent = kDefaultMaxConcurrentJobs,
            .lock_dir = options.data_dir,
            .warn = [this](const std::string& m) { warn(m); }}),
      scheduler(c, clk, jobs, random_jitter, options.warn),
      projects([this]() -> Result<std::vector<stack::Project>> {
        auto* client = TRY(docker.get());
        return stack::discover_projects(*client, {.detect_by_process = false});
      }),
      options_(options),
      notifier_(c, options.notify_post ? options.notify_post : notify::Poster(notify::curl_post), options.notify_retry,
                [this](const std::string& m) { warn(m); }) {
  if (!options_.open_target) options_.open_target = default_target_opener();
  if (!options_.warn) {
    options_.warn = [](const std::string& m) { std::cerr << "stacksnap: warning: " << m << std::endl; };
  }
}

Appliance::~Appliance() { stop(); }

Status Appliance::start() {
  if (started_) return {};
  started_ = true;
  if (auto st = keys.load(); !st.ok()) warn("encryption key: " + st.error().message());

  // Jobs of a process that died (this server before a crash, or a killed CLI run).
  auto interrupted = cat.mark_interrupted_jobs(now_s());
  if (!interrupted.ok()) {
    warn("startup repair: " + interrupted.error().message());
  } else {
    for (int64_t id : *interrupted) {
      auto rec = cat.get_job(id);
      if (!rec.ok()) continue;
      const std::string state(catalog::job_state_name(rec->state));
      warn("job " + std::to_string(id) + " (" + rec->kind + " of " + rec->project + ") " +
           (rec->state == catalog::JobState::kInterrupted ? "was interrupted"
                                                           : "ended " + state + " before its process died; recorded now"));
      publisher.dashboard("job_finished", Json{{"job_id", id}, {"kind", rec->kind}, {"project", rec->project},
                                                        {"backup_id", rec->backup_id}, {"result", state},
                                                        {"code", rec->error_code}, {"message", rec->error}});
      notifier_.job_event(*rec, "job_finished");  // interrupted is a failure
    }
  }
  repair_in_background();

  auto s = settings();
  if (s.ok()) jobs.set_max_concurrent((*s)["max_concurrent_jobs"].get<int>());
  register_runners();
  wire_notifications();
  jobs.start();
  if (options_.run_scheduler) scheduler.start(options_.scheduler_period);
  return {};
}

void Appliance::stop() {
  scheduler.stop();
  jobs.stop();
  repair_stop_.request_stop();
  if (repair_thread_.joinable()) repair_thread_.join();
  notifier_.stop();
}

void Appliance::repair_in_background() {
  repair_thread_ = std::thread([this, stop = repair_stop_.get_token()] {
    // Containers paused by Safe Mode in a process that died.
    auto client = docker.get();
    if (client.ok()) {
      auto n = backup::repair_paused(**client, cat, [this](const std::string& m) { warn("startup repair: " + m); });
      if (n.ok() && *n > 0) warn("startup repair: resumed " + std::to_string(*n) + " container(s) left paused");
      if (!n.ok()) warn("startup repair: " + n.error().message());
      // Capture and restore helper containers of a process that died: they hold the
      // project's volumes (`compose down -v` could not remove them) until removed.
      auto h = docker::remove_orphan_helpers(**client);
      if (h.ok() && *h > 0) warn("startup repair: removed " + std::to_string(*h) + " orphan helper container(s)");
      if (!h.ok()) warn("startup repair: helper containers: " + h.error().message());
    } else {
      auto paused = cat.list_paused();
      if (paused.ok() && !paused->empty()) {
        warn("startup repair: " + std::to_string(paused->size()) +
             " container(s) may still be paused, but the Docker Engine is unreachable: " + client.error().message());
      }
    }
    // Spool files nobody has open.
    std::string spool = options_.data_dir + "/spool";
    std::error_code ec;
    if (std::filesystem::is_directory(spool, ec)) {
      auto open = open_paths();
      for (const auto& f : std::filesystem::directory_iterator(spool, ec)) {
        if (open.count(f.path().string())) continue;
        std::error_code rm;
        if (std::filesystem::remove(f.path(), rm)) warn("startup repair: removed spool orphan " + f.path().string());
      }
    }
    // Unfinished uploads on every target.
    auto targets = cat.list_targets();
    if (!targets.ok()) return;
    for (const auto& t : *targets) {
      if (stop.stop_requested()) return;
      auto target = options_.open_target(t);
      if (!target.ok()) {
        warn("startup repair: target " + t.name + ": " + target.error().message());
        continue;
      }
      auto n = (*target)->cleanup_stale(std::chrono::duration_cast<std::chrono::seconds>(kStaleUploadAge));
      if (!n.ok()) warn("startup repair: target " + t.name + ": " + n.error().message());
      else if (*n > 0) warn("startup repair: removed " + std::to_string(*n) + " unfinished upload(s) on " + t.name);
    }
  });
}

// ---- notifications ------------------------------------------------------------------

void Appliance::wire_notifications() {
  jobs.add_observer({.started = [this](const catalog::JobRecord& j) { notifier_.job_event(j, "job_started"); },
                     .finished = [this](const catalog::JobRecord& j) {
                       projects.invalidate();  // a restore or drill may have made or removed a project
                       notifier_.job_event(j, "job_finished");
                     }});
}

notify::Delivery Appliance::test_notification(const catalog::NotificationRecord& n) {
  auto kind = notify::parse_kind(n.kind);
  if (!kind.ok()) return {.ok = false, .message = kind.error().message()};
  catalog::JobRecord fake{.id = 0, .kind = "backup", .project = "example", .state = catalog::JobState::kFailed,
                          .error = "this is a test notification from StackSnap", .error_code = "Internal"};
  fake.summary = Json{{"result", "failed"}, {"test", true}};
  auto m = job_message(fake, "job_finished", server_name(cat).value_or("stacksnap"));
  m.payload["test"] = true;
  m.title = "StackSnap: test notification";
  m.text = "This is a test notification from StackSnap.";
  if (*kind == notify::Kind::kHealthchecks) m.result = "succeeded";  // ping the plain URL
  return notify::deliver({*kind, n.url}, m, options_.notify_post ? options_.notify_post : notify::curl_post,
                         options_.notify_retry);
}

void Appliance::changed(const std::string& what) {
  publisher.dashboard("settings_changed", Json{{"what", what}});
}

DoctorReport Appliance::doctor() {
  return run_doctor({.data_dir = options_.data_dir,
                     .cat = &cat,
                     .docker = [this] { return docker.get(); },
                     .key_status = keys.status(),
                     .key_holder = KeyHolder::kServer,
                     .open_target = options_.open_target,
                     .clock = &clock});
}

// ---- settings -----------------------------------------------------------------------

Result<Json> Appliance::settings() {
  Json out{{"max_concurrent_jobs", kDefaultMaxConcurrentJobs}, {"server_name", ""}};
  if (auto v = TRY(cat.get_setting("max_concurrent_jobs")); v && v->is_number_integer()) {
    out["max_concurrent_jobs"] = v->get<int>();
  }
  out["server_name"] = TRY(server_name(cat));
  return out;
}

Result<Json> Appliance::update_settings(const Json& patch) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.key() != "max_concurrent_jobs" && it.key() != "server_name") {
      return invalid_argument("unknown setting '" + it.key() + "'");
    }
  }
  if (patch.contains("max_concurrent_jobs")) {
    const auto& v = patch["max_concurrent_jobs"];
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxConcurrentJobsLimit) {
      return invalid_argument("max_concurrent_jobs must be an integer from 1 to " +
                              std::to_string(kMaxConcurrentJobsLimit));
    }
  }
  if (patch.contains("server_name")) {
    const auto& v = patch["server_name"];
    if (!v.is_string() || v.get<std::string>().size() > 100) {
      return invalid_argument("server_name must be a string of at most 100 characters");
    }
  }
  if (patch.contains("max_concurrent_jobs")) {
    TRY(cat.set_setting("max_concurrent_jobs", patch["max_concurrent_jobs"]));
    jobs.set_max_concurrent(patch["max_concurrent_jobs"].get<int>());
  }
  if (patch.contains("server_name")) TRY(cat.set_setting("server_name", patch["server_name"]));
  changed("settings");
  return settings();
}

}  // namespace stacksnap::app
