// Issue 14 against the real `stacksnap serve`: who may claim a fresh appliance, which
// Host names and origins it answers, the local recovery path, and what target and
// notification settings can (not) reveal.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "common/build_paths.h"
#include "base/fd.h"
#include "common/loopback_receiver.h"
#include "integration/security_support.h"
#include "integration/test_env.h"

namespace stacksnap::it {
namespace {

using namespace std::chrono_literals;

unsigned mode_of(const std::string& path) {
  struct stat st{};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(SecurityClaim, FirstRunNeedsTheSetupTokenThatDiesWithTheFirstAdmin) {
  LiveServer s;
  std::filesystem::create_directories(s.data_dir);
  ASSERT_EQ(::chmod(s.data_dir.c_str(), 0755), 0);  // an existing, too open data dir
  ASSERT_NE(s.start(), 0) << s.process->log();
  const std::string log = s.process->log();
  const std::string token = s.process->setup_token();
  ASSERT_EQ(token.size(), 32u) << log;
  EXPECT_EQ(mode_of(s.process->token_file()), 0600u);
  EXPECT_NE(log.find(s.url("/?setup_token=" + token)), std::string::npos) << "a ready-to-open URL:\n" << log;
  EXPECT_EQ(mode_of(s.data_dir), 0700u);
  EXPECT_NE(log.find("was mode 0755; changed to 0700"), std::string::npos) << log;

  Reply r = s.setup("");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json()["code"], "PermissionDenied");
  EXPECT_EQ(s.setup(std::string(32, '0')).status, 403);
  EXPECT_EQ(call({.url = s.url("/api/setup")}).json()["needs_setup"], true) << "nothing was claimed";
  EXPECT_EQ(call({.method = "POST", .url = s.url("/api/key"), .body = R"({"mode":"generate"})", .headers = {kJsonType}})
                .status,
            401);

  r = s.setup(token);
  ASSERT_EQ(r.status, 201) << r.body;  // 201 Created: the admin account
  EXPECT_FALSE(std::filesystem::exists(s.process->token_file())) << "the token file is gone";
  r = s.setup(token, "another-password-123");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.json()["code"], "AlreadyExists");
  EXPECT_EQ(s.login().status, 200) << "the first password stays";

  // A restart prints no setup URL and writes no token any more.
  ASSERT_EQ(s.process->stop(), 0);
  ASSERT_NE(s.start(), 0);
  const std::string second = s.process->log().substr(log.size());
  EXPECT_EQ(second.find("setup_token="), std::string::npos) << second;
  EXPECT_FALSE(std::filesystem::exists(s.process->token_file()));
  EXPECT_EQ(second.find("changed to 0700"), std::string::npos) << "said once";
}

TEST(SecurityClaim, AdminResetPasswordIsTheLocalRecoveryPath) {
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  Session admin = s.claim();
  Reply tok = call({.method = "POST", .url = s.url("/api/tokens"), .body = R"({"name":"script"})", .headers = admin.headers()});
  ASSERT_EQ(tok.status, 201) << tok.body;
  const std::string bearer = "Authorization: Bearer " + tok.json()["token"].get<std::string>();

  auto result = run_script("printf 'recovered-password-1\\n' | " + stacksnap::build_paths::binary() + " --data-dir " +
                           s.data_dir + " admin reset-password --password-stdin");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(call({.url = s.url("/api/session"), .headers = {admin.cookie}}).status, 401) << "sessions ended";
  EXPECT_EQ(call({.url = s.url("/api/tokens"), .headers = {bearer}}).status, 401) << "API tokens revoked";
  EXPECT_EQ(s.login().status, 401);
  EXPECT_EQ(s.login("recovered-password-1").status, 200);
}

TEST(SecurityClaim, ForeignHostNamesGet421BeforeRouting) {
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  const std::string token = s.process->setup_token();
  struct Probe {
    std::string method, path, body;
  };
  const std::vector<Probe> probes = {{"GET", "/", ""},
                                     {"GET", "/settings", ""},
                                     {"GET", "/api/setup", ""},
                                     {"POST", "/api/setup", Json{{"password", kAdminPassword}, {"setup_token", token}}.dump()},
                                     {"POST", "/api/login", Json{{"password", kAdminPassword}}.dump()},
                                     {"GET", "/api/health", ""}};
  for (const char* host : {"evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io"}) {
    for (const auto& p : probes) {
      Reply r = call({.method = p.method, .url = s.url(p.path), .body = p.body,
                      .headers = {std::string("Host: ") + host, kJsonType}});
      EXPECT_EQ(r.status, 421) << p.method << " " << p.path << " Host: " << host << "\n" << r.body;
    }
  }
  EXPECT_EQ(call({.url = s.url("/api/setup")}).json()["needs_setup"], true) << "the rebinding page claimed nothing";
  for (const std::string& host : std::vector<std::string>{"localhost", "localhost:" + std::to_string(s.process->port()),
                                                          "127.0.0.1", "[::1]:1"}) {
    EXPECT_EQ(call({.url = s.url("/api/health"), .headers = {"Host: " + host}}).status, 200) << host;
  }
}

TEST(SecurityClaim, PublicUrlAndAllowedHostsWidenTheAllowlistAndHttpsMeansSecureCookies) {
  LiveServer s({"--public-url", "https://backup.example.com", "--allowed-host", "nas.lan"});
  ASSERT_NE(s.start(), 0) << s.process->log();
  EXPECT_NE(s.process->log().find("https://backup.example.com/?setup_token="), std::string::npos) << s.process->log();
  EXPECT_EQ(call({.url = s.url("/api/health"), .headers = {"Host: nas.lan:8080"}}).status, 200);
  EXPECT_EQ(call({.url = s.url("/api/health"), .headers = {"Host: other.lan"}}).status, 421);
  const std::string host = "Host: backup.example.com";
  Reply r = s.setup(s.process->setup_token(), kAdminPassword, {host, "Origin: https://backup.example.com"});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.header("set-cookie")->find("; Secure"), std::string::npos);
  EXPECT_EQ(r.header("strict-transport-security"), "max-age=31536000");
  Reply plain = call({.url = s.url("/api/health"), .headers = {host}});
  EXPECT_EQ(plain.header("strict-transport-security"), "max-age=31536000");
}

TEST(SecurityClaim, CrossOriginStateChangesAreRefusedEvenWithAValidSession) {
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  Session admin = s.claim();
  auto post_token = [&](std::vector<std::string> extra) {
    auto h = admin.headers();
    h.insert(h.end(), extra.begin(), extra.end());
    return call({.method = "POST", .url = s.url("/api/tokens"), .body = R"({"name":"t"})", .headers = h});
  };
  for (const char* bad : {"Origin: http://evil.example", "Origin: http://evil.example:8080", "Origin: null",
                          "Origin: http://127.0.0.1:1", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Site: same-site"}) {
    Reply r = post_token({bad});
    EXPECT_EQ(r.status, 403) << bad << ": " << r.body;
  }
  const std::string own = "Origin: http://127.0.0.1:" + std::to_string(s.process->port());
  EXPECT_EQ(post_token({own, "Sec-Fetch-Site: same-origin"}).status, 201);
  EXPECT_EQ(post_token({}).status, 201) << "scripts send no Origin";
  EXPECT_EQ(s.login(kAdminPassword, {"Origin: http://evil.example"}).status, 403) << "no login CSRF either";
  EXPECT_EQ(call({.url = s.url("/api/session"), .headers = {admin.cookie, "Origin: http://evil.example"}}).status, 200)
      << "reads are not state changes (and no CORS lets the page see them)";
}

TEST(SecurityClaim, TargetsCannotNameHostFilesAndSecretsNeverReachTheDatabase) {
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  Session admin = s.claim();
  auto add = [&](const Json& target) {
    return call({.method = "POST", .url = s.url("/api/targets"), .body = target.dump(), .headers = admin.headers()});
  };
  Reply r = add({{"name", "shadow"}, {"kind", "s3"},
                 {"config", {{"bucket", "b"}, {"access_key", "AK"}, {"secret_key_file", "/etc/shadow"}}}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.json()["message"].get<std::string>().find("secret_key_file"), std::string::npos);
  EXPECT_EQ(add({{"name", "etc"}, {"kind", "local"}, {"config", {{"path", "/etc"}}}}).status, 400);
  EXPECT_EQ(add({{"name", "keys"}, {"kind", "local"}, {"config", {{"path", s.data_dir + "/secrets"}}}}).status, 400);
  EXPECT_EQ(add({{"name", "extra"}, {"kind", "s3"}, {"config", {{"bucket", "b"}, {"api_password", "p"}}}}).status, 400);
  EXPECT_EQ(call({.method = "POST", .url = s.url("/api/targets/test"),
                  .body = Json{{"kind", "s3"}, {"config", {{"bucket", "b"}, {"ca_file", "/root/.ssh/id_rsa"}}}}.dump(),
                  .headers = admin.headers()})
                .status,
            400);

  const std::string secret = "inline-secret-9f8e7d6c";
  const std::string token = "session-token-1a2b3c";
  r = add({{"name", "offsite"}, {"kind", "s3"},
           {"config", {{"endpoint", "http://127.0.0.1:1"}, {"bucket", "b"}, {"access_key", "AK"},
                       {"secret_key", secret}, {"session_token", token}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  Reply got = call({.url = s.url("/api/targets/offsite"), .headers = {admin.cookie}});
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.json()["config"]["secret_key_set"], true);
  for (const auto& body : {r.body, got.body, call({.url = s.url("/api/targets"), .headers = {admin.cookie}}).body}) {
    EXPECT_EQ(body.find(secret), std::string::npos) << body;
    EXPECT_EQ(body.find(token), std::string::npos) << body;
  }
  const std::string file = s.data_dir + "/secrets/target-offsite.secret";
  EXPECT_EQ(*read_small_file(file), secret);
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_EQ(mode_of(s.data_dir + "/secrets"), 0700u);
  for (const char* db : {"/state.db", "/state.db-wal"}) {
    std::string bytes = read_file(s.data_dir + db);
    EXPECT_EQ(bytes.find(secret), std::string::npos) << db;
    EXPECT_EQ(bytes.find(token), std::string::npos) << db;
  }
}

TEST(SecurityClaim, NotificationUrlsAreMaskedButStillDelivered) {
  stacksnap::testing::LoopbackReceiver receiver;
  ASSERT_TRUE(receiver.ok());
  LiveServer s;
  ASSERT_NE(s.start(), 0) << s.process->log();
  Session admin = s.claim();
  const std::string url = receiver.url("/ping/0f6e2d1c-secret-uuid?token=abc123");
  Reply r = call({.method = "POST", .url = s.url("/api/notifications"),
                  .body = Json{{"name", "hc"}, {"kind", "webhook"}, {"url", url}}.dump(), .headers = admin.headers()});
  ASSERT_EQ(r.status, 201) << r.body;
  const int64_t id = r.json()["id"];
  const std::string masked = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/…";
  EXPECT_EQ(r.json()["url"], masked);
  Reply got = call({.url = s.url("/api/notifications/" + std::to_string(id)), .headers = {admin.cookie}});
  EXPECT_EQ(got.json()["url"], masked);
  Reply list = call({.url = s.url("/api/notifications"), .headers = {admin.cookie}});
  for (const auto& body : {r.body, got.body, list.body}) {
    EXPECT_EQ(body.find("secret-uuid"), std::string::npos) << body;
    EXPECT_EQ(body.find("abc123"), std::string::npos) << body;
  }
  // Sending the masked form back (an edit form that did not touch the URL) keeps the real one.
  r = call({.method = "PUT", .url = s.url("/api/notifications/" + std::to_string(id)),
            .body = Json{{"url", masked}, {"on_success", true}}.dump(), .headers = admin.headers()});
  ASSERT_EQ(r.status, 200) << r.body;
  r = call({.method = "POST", .url = s.url("/api/notifications/" + std::to_string(id) + "/test"),
            .headers = admin.headers()});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(receiver.wait_for(1));
  EXPECT_EQ(receiver.requests()[0].path, "/ping/0f6e2d1c-secret-uuid?token=abc123");
}

}  // namespace
}  // namespace stacksnap::it
