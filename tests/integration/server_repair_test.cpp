// The real `stacksnap serve` binary, killed with SIGKILL in the middle of a scheduled
// Safe Mode backup, then restarted on the same data dir: the start-up repair is
// observed from outside (API, Docker, the spool directory, a healthchecks receiver),
// and the next backup succeeds.
//
// The schedule fires through the server's own scheduler thread: a `* * * * *` schedule
// is due at the next minute boundary and picked up by the next scheduler pass (every
// 15 s), so this test waits up to ~75 s for it; there is no "run now" for schedules.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "base/fd.h"
#include "base/temp_dir.h"
#include "integration/http_test_support.h"
#include "integration/server_process.h"
#include "integration/test_env.h"
#include "common/loopback_receiver.h"

namespace stacksnap::it {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using http::testing::call;
using http::testing::Frame;
using http::testing::Json;
using http::testing::Reply;
using http::testing::SseClient;
using stacksnap::testing::LoopbackReceiver;

constexpr int kVolumeMiB = 64;  // random data: capturing it takes a moment, the kill comes first

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string container_state(const std::string& name) {
  return trimmed(run_script("docker inspect -f '{{.State.Status}}' " + name).output);
}

std::vector<std::string> spool_files(const std::string& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data_dir + "/spool", ec)) out.push_back(e.path().filename().string());
  return out;
}

// The test's own Compose project: one app service writing a volume of random data.
struct OwnProject {
  std::string name, dir;
  std::vector<pid_t> server_pids;  // their capture helpers are removed too

  Status up() {
    fs::create_directories(dir);
    std::ofstream(dir + "/docker-compose.yml")
        << "services:\n"
           "  app:\n"
           "    image: " << kFixtureApp << "\n"
           "    command: [\"sh\", \"-c\", \"[ -f /data/.seeded ] || { head -c " << kVolumeMiB
        << "M /dev/urandom > /data/random.bin && touch /data/.seeded; }; exec sleep infinity\"]\n"
           "    volumes:\n"
           "      - data:/data\n"
           "volumes:\n"
           "  data:\n";
    auto r = compose_in(dir, name, "up -d");
    if (r.exit_code != 0) return internal_error(compose_command() + " up: " + r.output);
    bool seeded = eventually(
        [&] { return run_script("docker exec " + app() + " test -f /data/.seeded").exit_code == 0; }, 60s);
    if (!seeded) return internal_error("the app container of " + name + " did not write its data");
    return {};
  }
  std::string app() const { return container_of(name, "app"); }
  ~OwnProject() {
    for (pid_t pid : server_pids) {
      run_script("ids=$(docker ps -aq --filter label=stacksnap.helper.pid=" + std::to_string(pid) +
                 "); [ -z \"$ids\" ] || docker rm -f $ids");
    }
    run_script("docker unpause " + app() + " >/dev/null 2>&1");
    compose_in(dir, name, "down -v --remove-orphans");
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

TEST(ServerRepair, KillNineDuringAScheduledSafeModeBackupIsRepairedAtRestart) {
  STACKSNAP_REQUIRE_ENGINE(docker);
  ASSERT_TRUE(ensure_fixture_images().ok());
  auto tmp = TempDir::create("/var/tmp", "stacksnap-it-repair-");
  ASSERT_TRUE(tmp.ok());
  const std::string data_dir = tmp->path() + "/data";
  OwnProject project{.name = "ssrepair" + std::to_string(::getpid()), .dir = tmp->path() + "/stack"};
  ASSERT_TRUE(project.up().ok());
  LoopbackReceiver hc;  // a healthchecks-style ping receiver
  ASSERT_TRUE(hc.ok());

  const auto t0 = std::chrono::steady_clock::now();
  auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  ServerProcess server(data_dir, tmp->path() + "/server.log");
  Api api;
  api.port = server.start();
  ASSERT_NE(api.port, 0) << server.log();
  project.server_pids.push_back(server.pid());
  Reply r = call({.method = "POST", .url = api.url("/api/setup"),
                  .body = Json{{"password", kServerPassword}, {"setup_token", server.setup_token()}}.dump(),
                  .headers = {"Content-Type: application/json"}});
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(api.login(kServerPassword));
  ASSERT_EQ(api.req("POST", "/api/key", {{"mode", "generate"}}).status, 201);
  r = api.req("POST", "/api/targets",
              {{"name", "local"}, {"kind", "local"}, {"config", {{"path", tmp->path() + "/store"}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  r = api.req("POST", "/api/notifications",
              {{"name", "hc"}, {"kind", "healthchecks"}, {"url", hc.url("/ping/repair")}});
  ASSERT_EQ(r.status, 201) << r.body;

  // Dashboard events first, so the scheduled job's start is not missed.
  SseClient dashboard;
  ASSERT_TRUE(dashboard.open(api.port, "/api/events", {api.cookie}));
  ASSERT_EQ(dashboard.read_status(), 200);

  r = api.req("PUT", "/api/projects/" + project.name + "/schedule",
              {{"cron", "* * * * *"}, {"safe_mode", true}, {"targets", Json::array({"local"})}});
  ASSERT_EQ(r.status, 200) << r.body;
  const int64_t next_run = r.json()["next_run"];
  const double t_scheduled = since();
  const int64_t now = unix_seconds(std::chrono::system_clock::now());
  ASSERT_GT(next_run, now);
  ASSERT_LE(next_run, now + 60);

  // The scheduler thread submits the backup at its first pass after next_run.
  int64_t job_id = 0;
  auto started = [&](const std::vector<Frame>& frames) {
    for (const auto& f : frames) {
      if (f.event != "job_started") continue;
      Json d = Json::parse(f.data, nullptr, false);
      if (d.value("project", "") == project.name && d.value("kind", "") == "backup") {
        job_id = d["job_id"];
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(dashboard.read_until(started, std::chrono::seconds(next_run - now + 15 + 20)))
      << "no scheduled backup within 35 s of its slot\n" << server.log();
  dashboard.close();
  const double t_fired = since();
  Json job = api.job(job_id);
  EXPECT_EQ(job["params"]["reason"], "schedule") << job.dump();
  EXPECT_EQ(job["params"]["safe_mode"], true);
  EXPECT_GE(unix_seconds(std::chrono::system_clock::now()), next_run);

  // Follow the job until Safe Mode has paused the app container and the volume's bytes
  // flow (its capture helper exists by then: no Docker create is in flight), then SIGKILL.
  SseClient events;
  ASSERT_TRUE(events.open(api.port, "/api/jobs/" + std::to_string(job_id) + "/events", {api.cookie}));
  bool paused = false, resumed_early = false;
  bool capturing = events.read_until(
      [&](const std::vector<Frame>& frames) {
        for (const auto& f : frames) {
          Json d = Json::parse(f.data, nullptr, false);
          if (f.event == "step_finished" && d.value("step", "") == "pause" && d.value("ok", false)) paused = true;
          if (f.event == "step_started" && d.value("step", "") == "resume") resumed_early = true;
          if (paused && f.event == "progress" && d.value("step", "").starts_with("volume.")) return true;
        }
        return false;
      },
      60s);
  server.kill_now();
  const double t_killed = since();
  ASSERT_TRUE(paused) << "the scheduled backup never paused the app container\n" << server.log();
  ASSERT_TRUE(capturing) << server.log();
  ASSERT_FALSE(resumed_early);
  events.close();

  // The damage: the app is left paused and a capture helper is left. The spool file was
  // unnamed (O_TMPFILE) and went with the process. A named one, what a file system without
  // O_TMPFILE leaves, is planted to check that the repair removes it too.
  EXPECT_EQ(container_state(project.app()), "paused");
  EXPECT_TRUE(spool_files(data_dir).empty()) << "an unnamed spool leaves nothing";
  ASSERT_TRUE(write_file_atomic(data_dir + "/spool/20261126T000000Z-0badf00d.partial", "sealed bytes of a killed run", 0600).ok());
  auto left = spool_files(data_dir);
  ASSERT_EQ(left.size(), 1u);
  const std::string helpers_of_killed =
      "docker ps -aq --filter label=stacksnap.helper.pid=" + std::to_string(project.server_pids[0]);
  // The Engine is on this host, so the volume was read where its files are, through no
  // helper container. A capture through the Engine's stream (a remote Engine) leaves one:
  // planted as it would be, for the repair to remove.
  EXPECT_EQ(trimmed(run_script(helpers_of_killed).output), "");
  auto planted = run_script("docker create --label stacksnap.helper=capture --label stacksnap.helper.pid=" +
                            std::to_string(project.server_pids[0]) + " stacksnap-fixture/app:test true");
  ASSERT_EQ(planted.exit_code, 0) << planted.output;
  EXPECT_NE(trimmed(run_script(helpers_of_killed).output), "");
  ASSERT_TRUE(hc.wait_for(1, 5s));
  EXPECT_EQ(hc.requests()[0].path, "/ping/repair/start");

  // Restart on the same data dir: the repair.
  const size_t log_before = server.log().size();
  api.port = server.start();
  ASSERT_NE(api.port, 0) << server.log();
  project.server_pids.push_back(server.pid());
  ASSERT_TRUE(api.login(kServerPassword));
  job = api.job(job_id);
  EXPECT_EQ(job["state"], "interrupted") << job.dump();
  EXPECT_NE(job["error"].get<std::string>().find("interrupted"), std::string::npos) << job.dump();
  EXPECT_GT(job["finished_at"].get<int64_t>(), 0);
  Json interrupted = api.req("GET", "/api/jobs?state=interrupted").json()["jobs"];
  ASSERT_EQ(interrupted.size(), 1u) << interrupted.dump();
  EXPECT_EQ(interrupted[0]["id"], job_id);

  EXPECT_TRUE(eventually([&] { return container_state(project.app()) == "running"; }, 15s))
      << "still " << container_state(project.app()) << "\n" << server.log();
  EXPECT_TRUE(eventually([&] { return spool_files(data_dir).empty(); }, 15s)) << server.log();
  EXPECT_TRUE(eventually([&] { return trimmed(run_script(helpers_of_killed).output).empty(); }, 15s))
      << "the start-up repair removes the killed run's capture helper\n" << server.log();
  std::string repair_log = server.log().substr(log_before);
  EXPECT_NE(repair_log.find("job " + std::to_string(job_id) + " (backup of " + project.name + ") was interrupted"),
            std::string::npos)
      << repair_log;
  EXPECT_NE(repair_log.find("startup repair: resumed 1 container(s) left paused"), std::string::npos) << repair_log;
  EXPECT_NE(repair_log.find("startup repair: removed 1 orphan helper container(s)"), std::string::npos) << repair_log;
  EXPECT_NE(repair_log.find("startup repair: removed spool orphan " + data_dir + "/spool/" + left[0]),
            std::string::npos)
      << repair_log;
  // The interrupted job counts as a failure for notifications.
  ASSERT_TRUE(hc.wait_for(2, 10s)) << repair_log;
  EXPECT_EQ(hc.requests()[1].path, "/ping/repair/fail");

  // No second scheduled run during the rest of the test.
  r = api.req("PUT", "/api/projects/" + project.name + "/schedule", {{"cron", "* * * * *"}, {"enabled", false}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["safe_mode"], true) << "an edit keeps the other fields";

  // The next backup succeeds.
  r = api.req("POST", "/api/backups", {{"project", project.name}, {"safe_mode", true}});
  ASSERT_EQ(r.status, 202) << r.body;
  int64_t next_job = r.json()["job_id"];
  Json done = api.wait_job(next_job, 120s);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(container_state(project.app()), "running");
  EXPECT_TRUE(spool_files(data_dir).empty());
  Json backups = api.req("GET", "/api/backups?project=" + project.name).json()["backups"];
  ASSERT_EQ(backups.size(), 1u) << backups.dump();
  EXPECT_EQ(backups[0]["id"], done["summary"]["backup_id"]);
  ASSERT_TRUE(hc.wait_for(4, 10s));
  EXPECT_EQ(hc.requests()[2].path, "/ping/repair/start");
  EXPECT_EQ(hc.requests()[3].path, "/ping/repair");

  // How long capturing the volume takes: the window the kill has to hit.
  SseClient replay;
  ASSERT_TRUE(replay.open(api.port, "/api/jobs/" + std::to_string(next_job) + "/events", {api.cookie}));
  replay.read_to_eof(5s);
  int64_t capture_ms = -1;
  for (const auto& f : replay.frames()) {
    Json d = Json::parse(f.data, nullptr, false);
    if (f.event == "step_finished" && d.value("step", "").starts_with("volume.")) capture_ms = d["duration_ms"];
    // The start-up repair did it all: the next backup found nothing left to repair.
    if (f.event == "log") {
      EXPECT_EQ(d.value("message", "").find("left paused"), std::string::npos) << f.data;
      EXPECT_EQ(d.value("message", "").find("partial spool"), std::string::npos) << f.data;
    }
  }
  EXPECT_GT(capture_ms, 0);
  EXPECT_EQ(server.stop(), 0) << server.log();
  std::fprintf(stderr,
               "server repair: setup %.1f s, schedule fired %.1f s after it was set, killed %.1f s later, "
               "repair and next backup %.1f s; capturing the %d MiB volume takes %lld ms\n",
               t_scheduled, t_fired - t_scheduled, t_killed - t_fired, since() - t_killed, kVolumeMiB,
               static_cast<long long>(capture_ms));
}

}  // namespace
}  // namespace stacksnap::it
