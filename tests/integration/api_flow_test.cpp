// The full flow over real HTTP with a real dockerd and the shop fixture stack:
// setup → key → target → backup → follow SSE → verify → download → delete.
#include <gtest/gtest.h>

#include "archive/verify.h"
#include "seal/key.h"

#include <algorithm>
#include <cstdlib>

#include "common/build_paths.h"
#include "integration/api_support.h"
#include "integration/test_env.h"

namespace stacksnap::http::testing {
namespace {

TEST(ApiFlow, BackupFollowVerifyDownloadDelete) {
  STACKSNAP_REQUIRE_ENGINE(docker);
  ASSERT_TRUE(it::ensure_sample_stacks().ok());
  ApiServer api;
  ASSERT_EQ(api.req("POST", "/api/key", {{"mode", "generate"}}).status, 201);
  std::string root = api.ts.dir->path() + "/storage";
  ASSERT_EQ(api.req("POST", "/api/targets", {{"name", "nas"}, {"kind", "local"}, {"config", {{"path", root}}}}).status,
            201);

  Reply projects = api.get("/api/projects");
  ASSERT_EQ(projects.status, 200) << projects.body;
  bool found = false;
  Json plist = projects.json()["projects"];
  const std::string shop = it::stack_project("shop");
  for (const auto& p : plist) found = found || p["name"] == shop;
  ASSERT_TRUE(found) << projects.body;
  Reply detail = api.get("/api/projects/" + shop);
  ASSERT_EQ(detail.status, 200);
  EXPECT_FALSE(detail.json()["engines"].empty()) << detail.body;
  // One behaviour: the dashboard's project is the CLI's (same service function).
  {
    auto cli = it::run_script(stacksnap::build_paths::binary() + " projects " + shop + " --json 2>/dev/null");
    ASSERT_EQ(cli.exit_code, 0) << cli.output;
    const Json from_cli = Json::parse(cli.output)["projects"][0];
    const Json from_api = detail.json()["project"];
    std::vector<std::string> cli_keys, api_keys;
    for (const auto& [k, v] : from_cli.items()) cli_keys.push_back(k);
    for (const auto& [k, v] : from_api.items()) api_keys.push_back(k);
    std::sort(cli_keys.begin(), cli_keys.end());
    std::sort(api_keys.begin(), api_keys.end());
    EXPECT_EQ(api_keys, cli_keys);
    for (const char* k : {"name", "working_dir", "config_files", "volumes", "binds", "sqlite"}) {
      EXPECT_EQ(from_api[k], from_cli[k]) << k;
    }
    EXPECT_EQ(detail.json()["sqlite"], from_api["sqlite"]);
  }
  EXPECT_EQ(api.get("/api/projects/no-such-project").status, 404);

  Reply start = api.req("POST", "/api/backups", {{"project", shop}});
  ASSERT_EQ(start.status, 202) << start.body;
  int64_t job_id = start.json()["job_id"];
  Reply dup = api.req("POST", "/api/backups", {{"project", shop}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_NE(dup.json()["message"].get<std::string>().find("already"), std::string::npos);

  // Follow the events until the summary; the stream closes after it.
  SseClient sse;
  ASSERT_TRUE(sse.open(api.ts.server->port(), "/api/jobs/" + std::to_string(job_id) + "/events", {api.cookie}));
  ASSERT_TRUE(sse.read_until([](const std::vector<Frame>& fs) { return !fs.empty() && fs.back().event == "summary"; },
                             std::chrono::seconds(300)));
  auto ids = sse.ids();
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], static_cast<int64_t>(i + 1));
  Json job = api.wait_job(job_id);
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  std::string backup_id = job["summary"]["backup_id"];

  // Reconnect with Last-Event-ID: exactly the rest.
  SseClient again;
  ASSERT_TRUE(again.open(api.ts.server->port(), "/api/jobs/" + std::to_string(job_id) + "/events",
                         {api.cookie, "Last-Event-ID: " + std::to_string(ids.size() - 2)}));
  again.read_to_eof();
  EXPECT_EQ(again.ids(), (std::vector<int64_t>{ids[ids.size() - 2], ids.back()}));

  Reply b = api.get("/api/backups/" + backup_id);
  ASSERT_EQ(b.status, 200);
  EXPECT_TRUE(b.json().contains("summary"));
  EXPECT_EQ(b.json()["copies"].size(), 1u);

  Reply v = api.req("POST", "/api/backups/" + backup_id + "/verify");
  ASSERT_EQ(v.status, 202) << v.body;
  EXPECT_EQ(api.wait_job(v.json()["job_id"])["state"], "succeeded");
  EXPECT_EQ(api.get("/api/backups/" + backup_id).json()["verify_result"], "ok");

  // The target is a repository (the default format): the download is the snapshot
  // exported as an archive, which verifies deeply with the key and holds the backup's files.
  Reply dl = api.get("/api/backups/" + backup_id + "/download");
  ASSERT_EQ(dl.status, 200);
  {
    auto key = seal::read_key_file(api.ts.dir->path() + "/key");
    ASSERT_TRUE(key.ok()) << key.error().message();
    auto keys = seal::KeySource::from_key(std::move(*key));
    MemoryReader in(dl.body);
    auto rep = archive::verify_archive(in, &keys, {.depth = archive::VerifyDepth::kDeep});
    ASSERT_TRUE(rep.ok()) << rep.error().message();
    EXPECT_GT(rep->files, 0u);
  }
  EXPECT_NE(dl.header("content-disposition").value_or("").find(backup_id), std::string::npos);

  // A drill through the API, then a restore beside the original (torn down after).
  Reply dr = api.req("POST", "/api/backups/" + backup_id + "/drill");
  ASSERT_EQ(dr.status, 202) << dr.body;
  EXPECT_EQ(api.wait_job(dr.json()["job_id"])["state"], "succeeded");
  EXPECT_EQ(api.get("/api/backups/" + backup_id).json()["drill_result"], "passed");

  Reply rs = api.req("POST", "/api/backups/" + backup_id + "/restore", Json{{"project", "apiflow-restored"}});
  ASSERT_EQ(rs.status, 202) << rs.body;
  Json rjob = api.wait_job(rs.json()["job_id"]);
  EXPECT_EQ(rjob["state"], "succeeded") << rjob.dump();
  int cleaned = std::system("docker rm -f $(docker ps -aq --filter label=com.docker.compose.project=apiflow-restored) >/dev/null 2>&1;"
              "docker volume rm $(docker volume ls -q --filter label=com.docker.compose.project=apiflow-restored) >/dev/null 2>&1;"
              "docker network rm apiflow-restored_default >/dev/null 2>&1");
  (void)cleaned;

  EXPECT_EQ(api.req("DELETE", "/api/backups/" + backup_id).status, 204);
  EXPECT_EQ(api.get("/api/backups/" + backup_id).status, 404);
}

}  // namespace
}  // namespace stacksnap::http::testing
