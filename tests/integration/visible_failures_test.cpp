// "Backups that never lie" (issue 13): a failing copy or target is loud. Against the real
// binary, dockerd, the S3 test bed and loopback notification receivers:
//  - two local targets, one copy damaged: `verify ID` (and the server's verify job) fail
//    with the data-loss code although the other copy verifies; the catalog and the API
//    show which copy; the configured channels hear about it;
//  - an S3 target that goes away during a backup while a local target works: the backup
//    is partial (exit code 6, job state, healthchecks /fail, webhook), /metrics keeps the
//    S3 target's last success and says it is failing, the project says since when; the
//    next backup with S3 back clears it.
// The S3 bed is shared with other tests, so it is not stopped: the target talks to it
// through a TcpForwarder, and stopping the forwarder is what the client sees of a
// stopped server (connection refused, open connections cut).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <regex>

#include "common/build_paths.h"
#include "common/damage.h"
#include "backup_support.h"
#include "catalog/catalog.h"
#include "catalog/catalog_admin.h"
#include "common/loopback_receiver.h"
#include "common/tcp_forwarder.h"
#include "integration/server_process.h"
#include "s3_test_env.h"

namespace stacksnap::it {
namespace {

namespace s3t = storage::s3::testing;
using stacksnap::testing::LoopbackReceiver;
using stacksnap::testing::ReceivedRequest;
using stacksnap::testing::TcpForwarder;

std::vector<std::string> paths_of(const LoopbackReceiver& rx, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& r : rx.requests()) {
    if (r.path.starts_with(prefix)) out.push_back(r.path);
  }
  return out;
}

std::vector<ReceivedRequest> with_prefix(const LoopbackReceiver& rx, const std::string& prefix) {
  std::vector<ReceivedRequest> out;
  for (const auto& r : rx.requests()) {
    if (r.path.starts_with(prefix)) out.push_back(r);
  }
  return out;
}

Json parse(const std::string& text) {
  auto j = Json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << text;
  return j.is_discarded() ? Json() : j;
}

const Json& copy_on(const Json& backup, const std::string& target) {
  static const Json none;
  for (const auto& c : backup["copies"]) {
    if (c["target"] == target) return c;
  }
  ADD_FAILURE() << "no copy on " << target << " in " << backup.dump();
  return none;
}

// The value of one series in a Prometheus text exposition ("name{labels}").
std::optional<double> metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

TEST(VisibleVerify, TwoTargetsOneCopyDamagedFailsWithDataLossAndShowsWhichCopy) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto made = BackupBed::create();
  ASSERT_TRUE(made.ok()) << made.error().message();
  auto& bed = **made;
  ASSERT_EQ(bed.run("target add local usb --format archive --path " + bed.store_dir() + "/usb-root").exit_code, 0);
  LoopbackReceiver rx;
  ASSERT_TRUE(rx.ok());
  {
    // Channels as the dashboard stores them (the CLI has no command for them).
    auto cat = catalog::Catalog::open(bed.data_dir() + "/state.db");
    ASSERT_TRUE(cat.ok());
    ASSERT_TRUE(catalog::add_notification(**cat, {.name = "hook", .kind = "webhook", .url = rx.url("/hook")}).ok());
    ASSERT_TRUE(catalog::add_notification(**cat, {.name = "hc", .kind = "healthchecks", .url = rx.url("/hc/v1")}).ok());
  }

  auto b = bed.backup(stack_project("files"), "--target local --target usb");
  ASSERT_EQ(b.exit_code, 0) << b.out;
  const std::string id = b.summary.value("backup_id", "");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(paths_of(rx, "/hc/"), (std::vector<std::string>{"/hc/v1/start", "/hc/v1"}))
      << "a CLI backup pings healthchecks like a server job";
  EXPECT_TRUE(paths_of(rx, "/hook").empty()) << "the webhook wants failures only";

  // One byte flipped in the middle of the copy on usb; the copy on local is intact.
  testing_damage::flip_middle_byte(bed.store_dir() + "/usb-root/backups/" + id + ".stsnap");
  std::string err;
  auto v = bed.run("verify " + id, &err);
  EXPECT_EQ(v.exit_code, 3) << "the data-loss code, although the copy on local verifies\n" << v.out << err;
  EXPECT_TRUE(contains(err, "stacksnap: copy on usb: ")) << err;
  EXPECT_TRUE(contains(v.out, "✓ Verify the copy on local")) << v.out;
  EXPECT_TRUE(contains(v.out, "✗ Verify the copy on usb")) << v.out;

  // The catalog says which copy: `backups --json` per copy, and the verdict is the worst.
  auto list = bed.run("backups --json");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  Json backups = parse(list.out);
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(copy_on(backups[0], "local")["verify_state"], "verified") << backups[0].dump(2);
  EXPECT_EQ(copy_on(backups[0], "usb")["verify_state"], "damaged") << backups[0].dump(2);
  EXPECT_TRUE(contains(copy_on(backups[0], "usb")["verify_detail"].get<std::string>(), "copy on usb"));
  EXPECT_TRUE(copy_on(backups[0], "usb")["verified_at"].is_number());
  EXPECT_TRUE(backups[0]["verify_result"].get<std::string>().starts_with("failed: copy on usb")) << backups[0].dump(2);
  auto human = bed.run("backups");
  EXPECT_TRUE(contains(human.out, "[local:verified, usb:damaged]")) << human.out;

  // The verify was a job like the server's, and its failure was sent before exit.
  ASSERT_TRUE(rx.wait_for(5, 5s)) << rx.count();
  EXPECT_EQ(paths_of(rx, "/hc/"),
            (std::vector<std::string>{"/hc/v1/start", "/hc/v1", "/hc/v1/start", "/hc/v1/fail"}));
  auto hooks = with_prefix(rx, "/hook");
  ASSERT_EQ(hooks.size(), 1u);
  Json payload = parse(hooks[0].body);
  EXPECT_EQ(payload["kind"], "verify");
  EXPECT_EQ(payload["result"], "failed");
  EXPECT_EQ(payload["code"], "DataLoss");
  EXPECT_TRUE(contains(payload["message"].get<std::string>(), "copy on usb")) << payload.dump();

  // --shallow (no key) finds it too (and says so again).
  EXPECT_EQ(bed.run("verify " + id + " --shallow").exit_code, 3);
  EXPECT_EQ(with_prefix(rx, "/hook").size(), 2u);

  // The server's verify job runs the same function: same verdict, same copy states.
  auto tmp = TempDir::create("/var/tmp", "stacksnap-it-visible-");
  ASSERT_TRUE(tmp.ok());
  ServerProcess server(bed.data_dir(), tmp->path() + "/server.log");
  Api api;
  api.port = server.start();
  ASSERT_NE(api.port, 0) << server.log();
  ASSERT_TRUE(api.setup(server.setup_token())) << server.log();
  Reply r = api.req("POST", "/api/backups/" + id + "/verify");
  ASSERT_EQ(r.status, 202) << r.body;
  Json job = api.wait_job(r.json()["job_id"].get<int64_t>(), 120s);
  EXPECT_EQ(job["state"], "failed") << job.dump();
  EXPECT_EQ(job["error_code"], "DataLoss") << job.dump();
  Json apib = api.req("GET", "/api/backups/" + id).json();
  EXPECT_EQ(copy_on(apib, "local")["verify_state"], "verified") << apib.dump(2);
  EXPECT_EQ(copy_on(apib, "usb")["verify_state"], "damaged") << apib.dump(2);
  ASSERT_TRUE(rx.wait_for(11, 10s)) << rx.count();
  EXPECT_EQ(paths_of(rx, "/hc/").back(), "/hc/v1/fail");
  EXPECT_EQ(with_prefix(rx, "/hook").size(), 3u);
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(VisiblePartial, S3StoppedDuringABackupIsPartialEverywhere) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  S3_TEST_BED(s3);
  const uint16_t s3_port = static_cast<uint16_t>(std::stoi(s3.endpoint.substr(s3.endpoint.rfind(':') + 1)));
  TcpForwarder s3_link(s3_port);
  ASSERT_TRUE(s3_link.start());
  LoopbackReceiver rx;
  ASSERT_TRUE(rx.ok());
  auto tmp = TempDir::create("/var/tmp", "stacksnap-it-partial-");
  ASSERT_TRUE(tmp.ok());
  const std::string data_dir = tmp->path() + "/data";

  // The appliance as a user sets it up: key, a local and an S3 target, two channels.
  ServerProcess server(data_dir, tmp->path() + "/server.log");
  Api api;
  api.port = server.start();
  ASSERT_NE(api.port, 0) << server.log();
  ASSERT_TRUE(api.setup(server.setup_token())) << server.log();
  ASSERT_EQ(api.req("POST", "/api/key", {{"mode", "generate"}}).status, 201);
  Reply r = api.req("POST", "/api/targets",
                    {{"name", "local"}, {"kind", "local"}, {"config", {{"path", tmp->path() + "/store"}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  r = api.req("POST", "/api/targets",
              {{"name", "offsite"},
               {"kind", "s3"},
               {"config",
                {{"endpoint", s3_link.url()}, {"bucket", s3.bucket}, {"region", s3.region},
                 {"prefix", s3t::fresh_prefix("partial")}, {"addressing", "path"}, {"access_key", s3.access_key},
                 {"secret_key", s3.secret_key}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_EQ(api.req("POST", "/api/notifications", {{"name", "hc"}, {"kind", "healthchecks"}, {"url", rx.url("/hc/p1")}})
                .status,
            201);
  ASSERT_EQ(api.req("POST", "/api/notifications", {{"name", "hook"}, {"kind", "webhook"}, {"url", rx.url("/hook")}})
                .status,
            201);

  // 1. Both targets work.
  const std::string files = stack_project("files");
  auto first = run_stacksnap(data_dir, "backup " + files + " --json");
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ASSERT_EQ(first.summary["result"], "succeeded");
  const std::string first_id = first.summary["backup_id"];
  Json b1 = api.req("GET", "/api/backups/" + first_id).json();
  const int64_t offsite_success = copy_on(b1, "offsite")["uploaded_at"];
  ASSERT_GT(offsite_success, 0);
  std::string m = api.req("GET", "/metrics").body;
  EXPECT_EQ(metric(m, "stacksnap_target_last_success_timestamp_seconds{target=\"offsite\"}"), offsite_success) << m;
  EXPECT_EQ(metric(m, "stacksnap_target_failing{target=\"offsite\"}"), 0) << m;
  std::this_thread::sleep_for(1100ms);  // the next backup's times differ

  // 2. S3 goes away while the next backup is being captured.
  std::string errfile = tmp->path() + "/backup2.err";
  FILE* p = ::popen((stacksnap::build_paths::binary() + " --data-dir " + data_dir + " backup " + files + " --json 2>" + errfile)
                        .c_str(),
                    "r");
  ASSERT_NE(p, nullptr);
  std::string out2, stopped_at;
  Json summary2;
  char line[65536];
  while (std::fgets(line, sizeof line, p)) {
    out2 += line;
    Json ev = Json::parse(line, nullptr, false);
    if (ev.is_discarded()) continue;
    if (ev["type"] == "step_started" && ev["step"] != "plan" && stopped_at.empty()) {
      stopped_at = ev["step"];
      s3_link.stop();
    }
    if (ev["type"] == "summary") summary2 = ev;
  }
  const int status = ::pclose(p);
  const std::string err2 = read_file(errfile);
  ASSERT_FALSE(stopped_at.empty()) << out2;
  std::fprintf(stderr, "S3 link stopped when step %s started\n", stopped_at.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 6) << "partial\n" << out2 << err2;
  EXPECT_EQ(summary2["result"], "partial") << out2;
  ASSERT_EQ(summary2["failed_targets"].size(), 1u) << out2;
  EXPECT_EQ(summary2["failed_targets"][0]["target"], "offsite");
  EXPECT_EQ(summary2["targets"], Json::array({"local"}));
  EXPECT_TRUE(contains(err2, "stacksnap: partial: failed on offsite: ")) << err2;
  const std::string second_id = summary2["backup_id"];
  const int64_t job2 = summary2["job_id"];

  // Recorded with the copy that succeeded; the job is partial for the API.
  Json b2 = api.req("GET", "/api/backups/" + second_id).json();
  ASSERT_EQ(b2["copies"].size(), 1u) << b2.dump(2);
  const int64_t local_success = copy_on(b2, "local")["uploaded_at"];
  Json j2 = api.job(job2);
  EXPECT_EQ(j2["state"], "partial") << j2.dump();
  EXPECT_EQ(j2["error_code"], "Unavailable") << j2.dump();
  EXPECT_EQ(api.req("GET", "/api/jobs?state=partial").json()["jobs"].size(), 1u);

  // The notifications, sent by the CLI before it exited: healthchecks /fail, the webhook.
  EXPECT_EQ(paths_of(rx, "/hc/"),
            (std::vector<std::string>{"/hc/p1/start", "/hc/p1", "/hc/p1/start", "/hc/p1/fail"}));
  auto hooks = with_prefix(rx, "/hook");
  ASSERT_EQ(hooks.size(), 1u) << "the first backup succeeded: nothing for failures-only";
  Json payload = parse(hooks[0].body);
  EXPECT_EQ(payload["result"], "partial");
  EXPECT_EQ(payload["backup_id"], second_id);
  EXPECT_EQ(payload["failed_targets"][0]["target"], "offsite");

  // /metrics: offsite's last success unchanged and failing; local moved on.
  m = api.req("GET", "/metrics").body;
  EXPECT_EQ(metric(m, "stacksnap_target_last_success_timestamp_seconds{target=\"offsite\"}"), offsite_success) << m;
  EXPECT_EQ(metric(m, "stacksnap_target_last_success_timestamp_seconds{target=\"local\"}"), local_success) << m;
  EXPECT_GT(local_success, offsite_success);
  EXPECT_EQ(metric(m, "stacksnap_target_failing{target=\"offsite\"}"), 1) << m;
  EXPECT_EQ(metric(m, "stacksnap_target_failing{target=\"local\"}"), 0) << m;
  auto since = metric(m, "stacksnap_target_failing_since_timestamp_seconds{target=\"offsite\"}");
  ASSERT_TRUE(since) << m;
  EXPECT_GE(*since, static_cast<double>(offsite_success));
  EXPECT_EQ(metric(m, "stacksnap_jobs_total{kind=\"backup\",result=\"partial\"}"), 1) << m;

  // The project (list and detail) says which target fails, since when, and why.
  auto health_of = [&](const Json& targets, const std::string& name) {
    for (const auto& t : targets) {
      if (t["target"] == name) return t;
    }
    ADD_FAILURE() << "no " << name << " in " << targets.dump();
    return Json();
  };
  Json project = api.req("GET", "/api/projects/" + files).json();
  Json offsite = health_of(project["targets"], "offsite");
  EXPECT_EQ(offsite["failing_since"], static_cast<int64_t>(*since)) << project["targets"].dump();
  EXPECT_EQ(offsite["last_success_at"], offsite_success);
  EXPECT_FALSE(offsite["last_error"].get<std::string>().empty());
  EXPECT_EQ(health_of(project["targets"], "local")["failing_since"], 0);
  Json listed;
  Reply projects = api.req("GET", "/api/projects");
  ASSERT_EQ(projects.status, 200) << projects.body;
  const Json all = projects.json();
  for (const auto& pj : all["projects"]) {
    if (pj["name"] == files) listed = pj;
  }
  EXPECT_EQ(health_of(listed["targets"], "offsite")["failing_since"], static_cast<int64_t>(*since));

  // 3. S3 back: the next backup is whole, and nothing says failing any more.
  ASSERT_TRUE(s3_link.start());
  auto third = run_stacksnap(data_dir, "backup " + files + " --json");
  EXPECT_EQ(third.exit_code, 0) << third.out << third.err;
  EXPECT_EQ(third.summary["result"], "succeeded");
  m = api.req("GET", "/metrics").body;
  EXPECT_EQ(metric(m, "stacksnap_target_failing{target=\"offsite\"}"), 0) << m;
  EXPECT_GT(*metric(m, "stacksnap_target_last_success_timestamp_seconds{target=\"offsite\"}"),
            static_cast<double>(offsite_success));
  EXPECT_FALSE(metric(m, "stacksnap_target_failing_since_timestamp_seconds{target=\"offsite\"}")) << m;
  project = api.req("GET", "/api/projects/" + files).json();
  EXPECT_EQ(health_of(project["targets"], "offsite")["failing_since"], 0);
  EXPECT_EQ(paths_of(rx, "/hc/").back(), "/hc/p1");
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace stacksnap::it
