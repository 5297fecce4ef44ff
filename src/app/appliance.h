// The composition root of `stacksnap serve`: every long-lived service of the appliance
// and their wiring. cmd_serve.cpp (and the API tests) create one Appliance, start it,
// register the resource routes over it (http/resource_routes.h), and stop it.
//
//   start(): key → startup repair (interrupted jobs now; paused containers, stale
//            uploads and spool orphans on a background thread) → settings → job runners →
//            job manager → scheduler.
//   stop():  scheduler, job manager (running jobs are cancelled and awaited), notifier.
#pragma once

#include <optional>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/backup_ops.h"
#include "app/doctor.h"
#include "app/job_manager.h"
#include "app/job_notify.h"
#include "app/key_store.h"
#include "app/projects_cache.h"
#include "app/scheduler.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "catalog/catalog_admin.h"
#include "docker/client.h"
#include "job/publisher.h"
#include "notify/notifier.h"

namespace stacksnap::app {

// The Docker client, connected on first use; a failed connect is retried on the next
// call (the Engine may start after StackSnap). Thread-safe.
class DockerProvider {
 public:
  explicit DockerProvider(std::string docker_host = {}) : host_(std::move(docker_host)) {}
  // Unavailable "cannot reach the Docker Engine …" while it is down.
  Result<docker::Client*> get();

 private:
  std::mutex mu_;
  std::string host_;
  std::unique_ptr<docker::Client> client_;
};

struct ApplianceOptions {
  std::string data_dir;
  std::string docker_host;  // empty: DOCKER_HOST or the default socket
  bool run_scheduler = true;
  std::chrono::milliseconds scheduler_period{15'000};
  int job_threads = 8;
  TargetOpener open_target;          // empty: repo::open_target
  notify::Poster notify_post;        // empty: libcurl
  notify::RetryPolicy notify_retry;  // 3 attempts, 1 s / 4 s
  std::function<void(const std::string&)> warn;  // empty: "stacksnap: warning: …" on stderr
};

inline constexpr int kDefaultMaxConcurrentJobs = 2;
inline constexpr int kMaxConcurrentJobsLimit = 8;

class Appliance {
 public:
  Appliance(catalog::Catalog& cat, job::Publisher& publisher, const Clock& clock, ApplianceOptions options);
  ~Appliance();  // stop()
  Appliance(const Appliance&) = delete;
  Appliance& operator=(const Appliance&) = delete;

  Status start();
  void stop();

  // {"max_concurrent_jobs","server_name"}
  Result<nlohmann::json> settings();
  // Validates and stores a subset; returns the full settings.
  Result<nlohmann::json> update_settings(const nlohmann::json& patch);

  // Application metrics in Prometheus text (docs/API.md, "Application metrics").
  std::string metrics_text();

  // `stacksnap doctor` as the server sees it (app/doctor.h): its Engine client, its key
  // (a locked passphrase key is a warning), its targets and clock.
  DoctorReport doctor();

  // Sends a test notification through one channel, synchronously.
  notify::Delivery test_notification(const catalog::NotificationRecord& n);

  // A dashboard "settings_changed" event.
  void changed(const std::string& what);

  const std::string& data_dir() const { return options_.data_dir; }
  const TargetOpener& open_target() const { return options_.open_target; }
  void warn(const std::string& message) const { options_.warn(message); }

  catalog::Catalog& cat;
  job::Publisher& publisher;
  const Clock& clock;
  DockerProvider docker;
  KeyStore keys;
  JobManager jobs;
  Scheduler scheduler;
  // The projects on the Engine for the dashboard's lists (app/projects_cache.h).
  ProjectsCache projects;

 private:
  void register_runners();
  // The key of the repository jobs (none while the key is not loaded).
  std::optional<seal::KeySource> retention_keys();
  // A repo-gc job for each target of retention's "gc_pending".
  void queue_collections(const nlohmann::json& retention, job::Context& ctx);
  void wire_notifications();
  void repair_in_background();

  ApplianceOptions options_;
  JobNotifier notifier_;
  std::thread repair_thread_;
  StopSource repair_stop_;
  bool started_ = false;
};

}  // namespace stacksnap::app
