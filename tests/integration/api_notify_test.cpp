// Notifications through the API against a local receiver on a loopback port: the test
// call of each channel kind, which jobs reach which channel (failure only by default,
// success when enabled, healthchecks pings start/success/fail), disabled channels.
// No Docker: a prune job succeeds, a verify of a backup without its file fails.
#include <gtest/gtest.h>

#include <map>

#include "integration/api_support.h"
#include "common/loopback_receiver.h"

namespace stacksnap::http::testing {
namespace {

using namespace std::chrono_literals;
using stacksnap::testing::LoopbackReceiver;
using stacksnap::testing::ReceivedRequest;

std::vector<ReceivedRequest> with_prefix(const std::vector<ReceivedRequest>& all, const std::string& prefix) {
  std::vector<ReceivedRequest> out;
  for (const auto& r : all) {
    if (r.path.starts_with(prefix)) out.push_back(r);
  }
  return out;
}

TEST(ApiNotifications, NtfyAndHealthchecksChannelsAndTheirTestCalls) {
  LoopbackReceiver rx;
  ASSERT_TRUE(rx.ok());
  ApiServer api;
  auto add = [&](const Json& body) {
    Reply r = api.req("POST", "/api/notifications", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json();
  };
  Json ntfy = add({{"name", "ntfy-failures"}, {"kind", "ntfy"}, {"url", rx.url("/ntfy/failures")}});
  EXPECT_EQ(ntfy["on_failure"], true) << "failure only by default";
  EXPECT_EQ(ntfy["on_success"], false);
  EXPECT_EQ(ntfy["enabled"], true);
  add({{"name", "ntfy-all"}, {"kind", "ntfy"}, {"url", rx.url("/ntfy/all")}, {"on_success", true}});
  Json hc = add({{"name", "hc"}, {"kind", "healthchecks"}, {"url", rx.url("/hc/5f1e")}});
  add({{"name", "off"}, {"kind", "ntfy"}, {"url", rx.url("/ntfy/off")}, {"on_success", true}, {"enabled", false}});
  Reply bad = api.req("POST", "/api/notifications", {{"name", "x"}, {"kind", "pager"}, {"url", rx.url("/x")}});
  EXPECT_EQ(bad.status, 400) << bad.body;

  // Test calls: synchronous, one request each.
  Reply t = api.req("POST", "/api/notifications/" + std::to_string(ntfy["id"].get<int64_t>()) + "/test");
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.json(), (Json{{"ok", true}, {"status", 200}, {"attempts", 1}}));
  t = api.req("POST", "/api/notifications/" + std::to_string(hc["id"].get<int64_t>()) + "/test");
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_TRUE(t.json()["ok"].get<bool>()) << t.body;
  EXPECT_EQ(api.req("POST", "/api/notifications/999/test").status, 404);
  auto got = rx.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].path, "/ntfy/failures");
  EXPECT_EQ(got[0].header("title"), "StackSnap: test notification");
  EXPECT_EQ(got[0].header("priority"), "high");
  EXPECT_EQ(got[0].header("tags"), "warning");
  EXPECT_EQ(got[0].body, "This is a test notification from StackSnap.");
  EXPECT_EQ(got[1].path, "/hc/5f1e") << "the test call pings the plain URL";

  // A job that succeeds: healthchecks start + success, ntfy only where on_success.
  ASSERT_EQ(api.req("PUT", "/api/projects/notifyproj/retention", {{"keep_last", 2}}).status, 200);
  Reply p = api.req("POST", "/api/projects/notifyproj/prune");
  ASSERT_EQ(p.status, 202) << p.body;
  EXPECT_EQ(api.wait_job(p.json()["job_id"])["state"], "succeeded");
  ASSERT_TRUE(rx.wait_for(2 + 3, 10s)) << rx.count();

  // A job that fails: a verify of a backup whose file is not on the target.
  ASSERT_EQ(api.req("POST", "/api/key", {{"mode", "generate"}}).status, 201);
  ASSERT_EQ(api.req("POST", "/api/targets", {{"name", "nas"}, {"kind", "local"},
                                             {"config", {{"path", api.ts.dir->path() + "/storage"}}}})
                .status,
            201);
  ASSERT_TRUE(api.ts.cat->put_backup({.id = "20260101T000000Z-0badf00d", .project = "notifyproj", .created_at = 1,
                                      .copies = {{.target = "nas", .key = "backups/20260101T000000Z-0badf00d.stsnap",
                                                  .size = 10, .sha256 = std::string(64, '0')}}})
                  .ok());
  Reply v = api.req("POST", "/api/backups/20260101T000000Z-0badf00d/verify");
  ASSERT_EQ(v.status, 202) << v.body;
  int64_t failed_job = v.json()["job_id"];
  EXPECT_EQ(api.wait_job(failed_job)["state"], "failed");
  ASSERT_TRUE(rx.wait_for(5 + 4, 10s)) << rx.count();
  std::this_thread::sleep_for(200ms);  // nothing more is coming
  got = rx.requests();
  EXPECT_EQ(got.size(), 9u);

  std::vector<std::string> hc_paths;
  for (const auto& r : with_prefix(got, "/hc/")) hc_paths.push_back(r.path);
  EXPECT_EQ(hc_paths, (std::vector<std::string>{"/hc/5f1e", "/hc/5f1e/start", "/hc/5f1e", "/hc/5f1e/start",
                                                "/hc/5f1e/fail"}));

  auto failures = with_prefix(got, "/ntfy/failures");
  ASSERT_EQ(failures.size(), 2u) << "the test call and the failed verify only";
  EXPECT_EQ(failures[1].header("title"), "StackSnap: verify of notifyproj failed");
  EXPECT_EQ(failures[1].header("priority"), "high");
  EXPECT_NE(failures[1].body.find("job " + std::to_string(failed_job)), std::string::npos) << failures[1].body;

  auto all = with_prefix(got, "/ntfy/all");
  ASSERT_EQ(all.size(), 2u) << "the succeeded prune and the failed verify";
  EXPECT_EQ(all[0].header("title"), "StackSnap: prune of notifyproj succeeded");
  EXPECT_EQ(all[0].header("priority"), "default");
  EXPECT_EQ(all[0].header("tags"), "white_check_mark");
  EXPECT_EQ(all[1].header("title"), "StackSnap: verify of notifyproj failed");

  EXPECT_TRUE(with_prefix(got, "/ntfy/off").empty()) << "a disabled channel gets nothing";
}

}  // namespace
}  // namespace stacksnap::http::testing
