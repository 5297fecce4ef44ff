#include "app/job_manager.h"

#include <unistd.h>

#include <algorithm>

#include "base/clock.h"
#include "catalog/catalog_admin.h"
#include "job/run.h"

namespace stacksnap::app {
namespace {

int64_t now_s() { return unix_seconds(std::chrono::system_clock::now()); }

Json dashboard_fields(const catalog::JobRecord& j) {
  return Json{{"job_id", j.id}, {"kind", j.kind}, {"project", j.project}, {"backup_id", j.backup_id}};
}

}  // namespace

JobManager::JobManager(catalog::Catalog& cat, job::Publisher& publisher, JobManagerOptions options)
    : cat_(cat), publisher_(publisher), options_(options), max_concurrent_(std::clamp(options.max_concurrent, 1, options.threads)) {}

JobManager::~JobManager() { stop(); }

void JobManager::register_runner(const std::string& kind, JobRunner runner) { runners_[kind] = std::move(runner); }

bool JobManager::has_runner(const std::string& kind) const { return runners_.count(kind) != 0; }

void JobManager::add_observer(Observer o) { observers_.push_back(std::move(o)); }

void JobManager::start() {
  std::lock_guard lk(mu_);
  if (started_) return;
  started_ = true;
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { worker(); });
}

void JobManager::stop() {
  std::vector<std::shared_ptr<Entry>> unstarted;
  {
    std::lock_guard lk(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    unstarted.assign(queue_.begin(), queue_.end());
    queue_.clear();
    for (auto& [id, e] : active_) {
      if (e->running) e->stop.request_stop();
    }
    for (auto& e : unstarted) {
      active_.erase(e->id);
      by_project_.erase(e->req.project);
    }
  }
  cv_.notify_all();
  for (auto& e : unstarted) finish_unstarted(e, "the server stopped before the job started");
  for (auto& t : threads_) t.join();
  threads_.clear();
  record_unrecorded();
}

size_t JobManager::unrecorded_count() const {
  std::lock_guard lk(mu_);
  return unrecorded_.size();
}

void JobManager::record_unrecorded() {
  std::vector<job::JobFinish> pending;
  {
    std::lock_guard lk(mu_);
    pending.swap(unrecorded_);
  }
  if (pending.empty()) return;
  std::vector<job::JobFinish> still;
  for (auto& f : pending) {
    auto st = job::record_finish(cat_, f, {.attempts = 1});
    if (!st.ok()) {
      still.push_back(std::move(f));
    } else if (options_.warn) {
      options_.warn("job " + std::to_string(f.job_id) + ": its end (" +
                    std::string(catalog::job_state_name(f.state)) + ") is recorded now");
    }
  }
  std::lock_guard lk(mu_);
  unrecorded_.insert(unrecorded_.end(), still.begin(), still.end());
}

Result<catalog::JobRecord> JobManager::submit(const JobRequest& req) {
  auto runner = runners_.find(req.kind);
  if (runner == runners_.end()) {
    return unimplemented("this server cannot run " + req.kind + " jobs (not built in)");
  }
  std::shared_ptr<Entry> e;
  catalog::JobRecord rec;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return failed_precondition("the server is stopping");
    if (!req.project.empty()) {
      auto it = by_project_.find(req.project);
      if (it != by_project_.end()) {
        const auto& other = *it->second;
        return failed_precondition("a " + other.req.kind + " of " + req.project + " is already " +
                                   (other.running ? "running" : "queued") + " (job " + std::to_string(other.id) + ")");
      }
    }
    rec = catalog::JobRecord{.kind = req.kind, .project = req.project, .backup_id = req.backup_id,
                             .state = catalog::JobState::kQueued, .created_at = now_s(), .params = req.params};
    rec.id = TRY_CTX(cat_.create_job(rec), "record the job");
    rec.pid = ::getpid();
    (void)catalog::set_job_pid(cat_, rec.id, rec.pid);  // another process's crash repair must leave it alone
    e = std::make_shared<Entry>();
    e->id = rec.id;
    e->req = req;
    active_[rec.id] = e;
    if (!req.project.empty()) by_project_[req.project] = e;
    // Announced before a worker can see it, so job_queued always precedes job_started.
    publisher_.dashboard("job_queued", dashboard_fields(rec));
    queue_.push_back(e);
  }
  cv_.notify_all();
  return rec;
}

bool JobManager::busy(const std::string& project) const {
  std::lock_guard lk(mu_);
  return by_project_.count(project) != 0;
}

Result<catalog::JobRecord> JobManager::cancel(int64_t job_id) {
  std::shared_ptr<Entry> unstarted;
  {
    std::lock_guard lk(mu_);
    auto it = active_.find(job_id);
    if (it != active_.end()) {
      auto e = it->second;
      if (e->running) {
        e->stop.request_stop();
      } else {
        queue_.erase(std::remove(queue_.begin(), queue_.end(), e), queue_.end());
        active_.erase(it);
        if (!e->req.project.empty()) by_project_.erase(e->req.project);
        unstarted = e;
      }
    }
  }
  if (unstarted) {
    finish_unstarted(unstarted, "job cancelled before it started");
    cv_.notify_all();
    return cat_.get_job(job_id);
  }
  auto rec = TRY(cat_.get_job(job_id));
  if (catalog::is_terminal(rec.state)) {
    return failed_precondition("job " + std::to_string(job_id) + " has already finished (" +
                               std::string(catalog::job_state_name(rec.state)) + ")");
  }
  if (rec.pid != ::getpid()) {
    return failed_precondition("job " + std::to_string(job_id) +
                               " is run by another StackSnap process (pid " + std::to_string(rec.pid) +
                               "); stop it there");
  }
  return rec;
}

void JobManager::set_max_concurrent(int n) {
  {
    std::lock_guard lk(mu_);
    max_concurrent_ = std::clamp(n, 1, options_.threads);
  }
  cv_.notify_all();
}

int JobManager::max_concurrent() const {
  std::lock_guard lk(mu_);
  return max_concurrent_;
}

std::optional<JobManager::Active> JobManager::active_for(const std::string& project) const {
  std::lock_guard lk(mu_);
  auto it = by_project_.find(project);
  if (it == by_project_.end()) return std::nullopt;
  return Active{it->second->id, it->second->req.kind, it->second->running};
}

size_t JobManager::running_count() const {
  std::lock_guard lk(mu_);
  return static_cast<size_t>(running_);
}

size_t JobManager::queued_count() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

void JobManager::worker() {
  while (true) {
    std::shared_ptr<Entry> e;
    {
      std::unique_lock lk(mu_);
      auto ready = [&] { return stopping_ || (!queue_.empty() && running_ < max_concurrent_); };
      if (unrecorded_.empty()) {
        cv_.wait(lk, ready);
      } else if (!cv_.wait_for(lk, options_.finish_retry_period, ready)) {
        lk.unlock();
        record_unrecorded();
        continue;
      }
      if (stopping_) return;
      e = queue_.front();
      queue_.pop_front();
      e->running = true;
      ++running_;
    }
    run_entry(e);
    {
      std::lock_guard lk(mu_);
      --running_;
      active_.erase(e->id);
      auto it = by_project_.find(e->req.project);
      if (it != by_project_.end() && it->second == e) by_project_.erase(it);
    }
    cv_.notify_all();
  }
}

void JobManager::run_entry(const std::shared_ptr<Entry>& e) {
  (void)cat_.start_job(e->id, ::getpid(), now_s());
  auto started = cat_.get_job(e->id);
  if (started.ok()) {
    publisher_.dashboard("job_started", dashboard_fields(*started));
    for (auto& o : observers_) {
      if (o.started) o.started(*started);
    }
  }

  job::PublishingSink live(publisher_);
  live.bind(e->id);
  const JobRunner& runner = runners_.at(e->req.kind);
  job::JobSpec spec = e->req;
  spec.lock_dir = options_.lock_dir;
  auto outcome = job::run_recorded_job(cat_, e->id, spec, live, e->stop.get_token(),
                                       [&](job::Context& ctx, int64_t id) -> Result<Json> {
                                         try {
                                           return runner(e->req, ctx, id);
                                         } catch (const std::exception& ex) {
                                           return internal_error(std::string("job crashed: ") + ex.what());
                                         }
                                       },
                                       options_.finish_retry);
  live.close();

  if (!outcome.recorded.ok()) {
    // The job row still says running: warn, retry later, and tell everyone the real end.
    if (options_.warn) {
      options_.warn(outcome.recorded.error().message() + "; retried every " +
                    std::to_string(options_.finish_retry_period.count() / 1000) + " s");
    }
    std::lock_guard lk(mu_);
    unrecorded_.push_back(outcome.finish);
  }
  auto rec = cat_.get_job(e->id);
  if (!rec.ok()) return;
  if (!outcome.recorded.ok()) job::apply_finish(outcome.finish, *rec);
  Json fin = dashboard_fields(*rec);
  fin["result"] = std::string(catalog::job_state_name(rec->state));
  if (!rec->error_code.empty()) {
    fin["code"] = rec->error_code;
    fin["message"] = rec->error;
  }
  if (rec->summary.is_object() && rec->summary.contains("backup_id")) fin["backup_id"] = rec->summary["backup_id"];
  publisher_.dashboard("job_finished", fin);
  if (rec->kind == "backup" && outcome.result.ok() &&
      rec->summary.is_object() && rec->summary.contains("backup_id")) {
    publisher_.dashboard("backup_added", Json{{"backup_id", rec->summary["backup_id"]},
                                                        {"project", rec->project},
                                                        {"stored_bytes", rec->summary.value("stored_bytes", 0)}});
  }
  for (auto& o : observers_) {
    if (o.finished) o.finished(*rec);
  }
}

void JobManager::finish_unstarted(const std::shared_ptr<Entry>& e, const std::string& message) {
  Json summary{{"result", "cancelled"}, {"code", "Cancelled"}, {"message", message},
               {"job_id", e->id},       {"kind", e->req.kind},   {"duration_ms", 0}};
  if (!e->req.project.empty()) summary["project"] = e->req.project;
  // The same final summary event a started job gets, so streams replay and close alike.
  int64_t ts = job::now_ms();
  Json data = summary;
  auto seq = cat_.append_event(e->id, ts, "summary", data);
  (void)cat_.finish_job(e->id, catalog::JobState::kCancelled, now_s(), "Cancelled", message, summary);
  if (seq.ok()) {
    job::Event ev{.seq = *seq, .ts_ms = ts, .type = "summary", .data = data};
    publisher_.job_event(e->id, ev);
  }
  publisher_.job_ended(e->id);
  auto rec = cat_.get_job(e->id);
  if (rec.ok()) {
    Json fin = dashboard_fields(*rec);
    fin["result"] = "cancelled";
    fin["code"] = "Cancelled";
    fin["message"] = message;
    publisher_.dashboard("job_finished", fin);
    for (auto& o : observers_) {
      if (o.finished) o.finished(*rec);
    }
  }
}

}  // namespace stacksnap::app
