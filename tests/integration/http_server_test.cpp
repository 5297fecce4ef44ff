// The server over real loopback HTTP: the account flow, the auth matrix over every
// registered route, security headers, TLS, the listen policy, limits, streamed bodies,
// blocking routes, graceful stop and the dashboard.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "http/secret.h"
#include "http_test_support.h"

namespace stacksnap::http::testing {
namespace {

using namespace std::chrono_literals;
const std::string kJson = "Content-Type: application/json";
constexpr uint64_t kSize = 8 << 20;  // streamed download test

// Fills a buffer with a deterministic pattern; fails after `fail_at` bytes if set.
class PatternReader final : public Reader {
 public:
  PatternReader(uint64_t size, std::optional<uint64_t> fail_at = std::nullopt) : size_(size), fail_at_(fail_at) {}
  Result<size_t> read(MutableBytes buf) override {
    if (fail_at_ && pos_ >= *fail_at_) return data_loss("archive segment 3: tag mismatch");
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size_ - pos_));
    for (size_t i = 0; i < n; ++i) buf[i] = static_cast<std::byte>((pos_ + i) * 31 % 251);
    pos_ += n;
    return n;
  }

 private:
  uint64_t size_;
  std::optional<uint64_t> fail_at_;
  uint64_t pos_ = 0;
};

std::string pattern(uint64_t size) {
  std::string s(size, '\0');
  for (uint64_t i = 0; i < size; ++i) s[i] = static_cast<char>(i * 31 % 251);
  return s;
}

TEST(HttpServer, HealthAndSecurityHeaders) {
  TestServer ts;
  ASSERT_TRUE(ts.start().ok());
  Reply r = call({.url = ts.url("/api/health"), .headers = {"Origin: https://evil.example"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "ok");
  EXPECT_EQ(r.json()["version"], STACKSNAP_VERSION);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("x-frame-options"), "DENY");
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_TRUE(r.header("content-security-policy")->starts_with("default-src 'self'"));
  for (const auto& [k, v] : r.headers) EXPECT_FALSE(k.starts_with("access-control-")) << k;
  // A CORS preflight gets no CORS headers either.
  Reply pre = call({.method = "OPTIONS", .url = ts.url("/api/tokens"),
                    .headers = {"Origin: https://evil.example", "Access-Control-Request-Method: POST"}});
  EXPECT_EQ(pre.status, 405);
  for (const auto& [k, v] : pre.headers) EXPECT_FALSE(k.starts_with("access-control-")) << k;
}

TEST(HttpServer, SetupLoginCsrfAndTokens) {
  TestServer ts;
  ASSERT_TRUE(ts.start().ok());
  EXPECT_EQ(call({.url = ts.url("/api/setup")}).json()["needs_setup"], true);
  EXPECT_EQ(call({.url = ts.url("/api/session")}).status, 401);
  Reply r = call({.method = "POST", .url = ts.url("/api/setup"), .body = ts.setup_body("short"), .headers = {kJson}});
  EXPECT_EQ(r.status, 400);
  r = call({.method = "POST", .url = ts.url("/api/setup"), .body = ts.setup_body()});
  EXPECT_EQ(r.status, 400) << "JSON bodies need Content-Type: application/json";
  r = call({.method = "POST", .url = ts.url("/api/setup"), .body = R"({"password":"integration-test-password"})",
            .headers = {kJson}});
  EXPECT_EQ(r.status, 403) << "no setup token";
  r = call({.method = "POST", .url = ts.url("/api/setup"), .body = ts.setup_body(), .headers = {kJson}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(session_cookie(r).empty());
  r = call({.method = "POST", .url = ts.url("/api/setup"), .body = ts.setup_body("another-password-123"),
            .headers = {kJson}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.json()["code"], "AlreadyExists");
  EXPECT_EQ(call({.url = ts.url("/api/setup")}).json()["needs_setup"], false);

  r = call({.method = "POST", .url = ts.url("/api/login"), .body = R"({"password":"wrong-password-1"})",
            .headers = {kJson}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body.find("wrong-password-1"), std::string::npos);
  r = call({.method = "POST", .url = ts.url("/api/login"), .body = R"({"password":"integration-test-password"})",
            .headers = {kJson}});
  ASSERT_EQ(r.status, 200);
  std::string set_cookie;
  for (const auto& [k, v] : r.headers) {
    if (k == "set-cookie") set_cookie = v;
  }
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(set_cookie.find("Path=/"), std::string::npos);
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos);  // plain HTTP on loopback
  std::string cookie = "Cookie: " + session_cookie(r);
  std::string csrf = r.json()["csrf_token"];

  Reply s = call({.url = ts.url("/api/session"), .headers = {cookie}});
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.json()["user"], "admin");
  EXPECT_EQ(s.json()["csrf_token"], csrf);

  // Mutations with the cookie need the CSRF token.
  r = call({.method = "POST", .url = ts.url("/api/tokens"), .body = R"({"name":"ci"})", .headers = {cookie, kJson}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json(), (Json{{"code", "PermissionDenied"}, {"message", "missing or wrong CSRF token"}}));
  r = call({.method = "POST", .url = ts.url("/api/tokens"), .body = R"({"name":"ci"})",
            .headers = {cookie, kJson, "X-CSRF-Token: " + std::string(64, '0')}});
  EXPECT_EQ(r.status, 403);
  r = call({.method = "POST", .url = ts.url("/api/tokens"), .body = R"({"name":"ci"})",
            .headers = {cookie, kJson, "X-CSRF-Token: " + csrf}});
  ASSERT_EQ(r.status, 201) << r.body;
  std::string token = r.json()["token"];
  int64_t id = r.json()["id"];
  std::string bearer = "Authorization: Bearer " + token;

  // The token works without CSRF, is listed without its secret, cannot manage tokens.
  Reply list = call({.url = ts.url("/api/tokens"), .headers = {bearer}});
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json()["tokens"].size(), 1u);
  EXPECT_EQ(list.json()["tokens"][0]["name"], "ci");
  EXPECT_EQ(list.body.find(token), std::string::npos);
  EXPECT_EQ(call({.url = ts.url("/api/session"), .headers = {bearer}}).json()["auth"], "token");
  EXPECT_EQ(call({.method = "POST", .url = ts.url("/api/tokens"), .body = R"({"name":"x"})", .headers = {bearer, kJson}})
                .status,
            403);

  // Revoke: the token stops working at once.
  EXPECT_EQ(call({.method = "DELETE", .url = ts.url("/api/tokens/" + std::to_string(id)),
                  .headers = {cookie, "X-CSRF-Token: " + csrf}})
                .status,
            204);
  EXPECT_EQ(call({.url = ts.url("/api/tokens"), .headers = {bearer}}).status, 401);
  EXPECT_EQ(call({.method = "DELETE", .url = ts.url("/api/tokens/" + std::to_string(id)),
                  .headers = {cookie, "X-CSRF-Token: " + csrf}})
                .status,
            404);

  // Password change keeps this session; logout ends it.
  r = call({.method = "POST", .url = ts.url("/api/password"),
            .body = R"({"current":"integration-test-password","new":"a-new-password-42"})",
            .headers = {cookie, kJson, "X-CSRF-Token: " + csrf}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(call({.url = ts.url("/api/session"), .headers = {cookie}}).status, 200);
  r = call({.method = "POST", .url = ts.url("/api/logout"), .headers = {cookie, "X-CSRF-Token: " + csrf}});
  EXPECT_EQ(r.status, 204);
  EXPECT_NE(r.header("set-cookie")->find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call({.url = ts.url("/api/session"), .headers = {cookie}}).status, 401);
}

TEST(HttpServer, LoginIsRateLimitedPerAddress) {
  TestServer ts;
  ASSERT_TRUE(ts.start().ok());
  ts.login();
  Reply r;
  for (int i = 0; i < 5; ++i) {
    r = call({.method = "POST", .url = ts.url("/api/login"), .body = R"({"password":"guess-number-x"})",
              .headers = {kJson}});
    EXPECT_EQ(r.status, 401) << i;
  }
  r = call({.method = "POST", .url = ts.url("/api/login"), .body = R"({"password":"integration-test-password"})",
            .headers = {kJson}});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.json()["code"], "ResourceExhausted");
  ASSERT_TRUE(r.header("retry-after").has_value());
  EXPECT_GE(std::stoi(*r.header("retry-after")), 50);
}

// Every registered non-public route answers 401 without credentials; session mutations
// without the CSRF token answer 403; session-only routes refuse Bearer tokens.
// New resource routes are covered once TestServer registers them as cmd_serve does.
TEST(HttpServer, AuthMatrixOverEveryRoute) {
  TestServer ts;
  ASSERT_TRUE(ts.start().ok());
  std::string token = ts.token();
  auto [cookie, csrf] = ts.login();
  auto routes = ts.router->routes();
  ASSERT_GE(routes.size(), 12u);
  int checked = 0;
  for (const auto& route : routes) {
    std::string path;
    for (size_t i = 0; i < route.pattern.size(); ++i) {
      if (route.pattern[i] == '{') {
        path += "1";
        i = route.pattern.find('}', i);
      } else {
        path += route.pattern[i];
      }
    }
    std::string method(method_name(route.method));
    std::string what = method + " " + route.pattern;
    std::string body = is_mutating(route.method) ? "{}" : "";
    Reply anon = call({.method = method, .url = ts.url(path), .body = body, .headers = {kJson}, .timeout_ms = 3000});
    if (route.access == Access::kPublic) {
      EXPECT_NE(anon.status, 401) << what;
      continue;
    }
    ++checked;
    EXPECT_EQ(anon.status, 401) << what;
    EXPECT_EQ(anon.json().value("code", ""), "Unauthenticated") << what;
    Reply forged = call({.method = method, .url = ts.url(path), .body = body,
                         .headers = {kJson, "Cookie: stacksnap_session=" + std::string(64, 'a')}, .timeout_ms = 3000});
    EXPECT_EQ(forged.status, 401) << what;
    if (is_mutating(route.method)) {
      Reply no_csrf = call({.method = method, .url = ts.url(path), .body = body, .headers = {kJson, cookie},
                            .timeout_ms = 3000});
      EXPECT_EQ(no_csrf.status, 403) << what;
    }
    if (route.access == Access::kSessionOnly) {
      Reply by_token = call({.method = method, .url = ts.url(path), .body = body,
                             .headers = {kJson, "Authorization: Bearer " + token}, .timeout_ms = 3000});
      EXPECT_EQ(by_token.status, 403) << what;
    }
  }
  EXPECT_GE(checked, 8);
  // The dashboard is public; /metrics is not.
  EXPECT_EQ(call({.url = ts.url("/")}).status, 200);
  EXPECT_EQ(call({.url = ts.url("/metrics")}).status, 401);
  Reply m = call({.url = ts.url("/metrics"), .headers = {"Authorization: Bearer " + token}});
  EXPECT_EQ(m.status, 200);
  EXPECT_TRUE(m.header("content-type")->starts_with("text/plain; version=0.0.4"));
  EXPECT_NE(m.body.find("stacksnap_http_requests_total "), std::string::npos);
  EXPECT_NE(m.body.find("stacksnap_build_info{version="), std::string::npos);
}

TEST(HttpServer, TlsWithSelfSignedCertificate) {
  TestServer ts;
  std::string dir = ts.dir->path();
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                    "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
                    dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl req failed";
  // TLS makes a non-loopback address acceptable.
  ASSERT_TRUE(ts.start({.listen = "0.0.0.0:0", .tls_cert = dir + "/cert.pem", .tls_key = dir + "/key.pem"}).ok());
  EXPECT_TRUE(ts.server->tls());
  Reply r = call({.url = ts.url("/api/health"), .cainfo = dir + "/cert.pem"});
  EXPECT_EQ(r.curl, CURLE_OK) << curl_easy_strerror(r.curl);
  EXPECT_EQ(r.status, 200);
  call({.method = "POST", .url = ts.url("/api/setup"), .body = ts.setup_body(), .headers = {kJson},
        .cainfo = dir + "/cert.pem"});
  Reply login = call({.method = "POST", .url = ts.url("/api/login"),
                      .body = R"({"password":"integration-test-password"})", .headers = {kJson},
                      .cainfo = dir + "/cert.pem"});
  ASSERT_EQ(login.status, 200);
  EXPECT_NE(login.header("set-cookie")->find("; Secure"), std::string::npos);
  // Plain HTTP to the TLS port gets nothing useful.
  Reply plain = call({.url = "http://127.0.0.1:" + std::to_string(ts.server->port()) + "/api/health",
                      .timeout_ms = 3000});
  EXPECT_NE(plain.status, 200);

  TestServer bad;
  auto st = bad.start({.tls_cert = dir + "/cert.pem", .tls_key = dir + "/missing.pem"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kInvalidArgument);
  TestServer half;
  EXPECT_EQ(half.start({.tls_cert = dir + "/cert.pem"}).error().code(), Code::kInvalidArgument);
}

TEST(HttpServer, NonLoopbackNeedsTlsOrExplicitInsecureFlag) {
  TestServer refused;
  auto st = refused.start({.listen = "0.0.0.0:0"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(st.error().message().find("--allow-insecure-listen"), std::string::npos);

  TestServer allowed;
  std::string warning;
  ASSERT_TRUE(allowed
                  .start({.listen = "0.0.0.0:0", .insecure = InsecureListen::kAllow,
                          .warn = [&](std::string_view w) { warning = w; }})
                  .ok());
  EXPECT_NE(warning.find("without TLS"), std::string::npos);
  EXPECT_EQ(call({.url = allowed.url("/api/health")}).status, 200);

  TestServer busy;
  auto in_use = busy.start({.listen = "127.0.0.1:" + std::to_string(allowed.server->port()),
                            .insecure = InsecureListen::kAllow});
  // 0.0.0.0:p and 127.0.0.1:p overlap.
  EXPECT_FALSE(in_use.ok());
}

TEST(HttpServer, BodyLimitsAndMalformedRequests) {
  TestServer ts;
  ts.router->post("/api/test/upload",
                  [](Request& req) -> Result<Response> { return Response::text(200, std::to_string(req.body.size())); },
                  {.access = Access::kPublic, .body_limit = 3 << 20});
  ASSERT_TRUE(ts.start().ok());
  Reply big = call({.method = "POST", .url = ts.url("/api/login"), .body = std::string(20000, 'x'), .headers = {kJson}});
  EXPECT_EQ(big.status, 413);
  // Without credentials the route refuses at header time, before the size matters.
  Reply huge = call({.method = "POST", .url = ts.url("/api/tokens"), .body = std::string(2 << 20, 'x'), .headers = {kJson}});
  EXPECT_EQ(huge.status, 401) << curl_easy_strerror(huge.curl);
  auto [cookie, csrf] = ts.login();
  Reply huge_authed = call({.method = "POST", .url = ts.url("/api/tokens"), .body = std::string(2 << 20, 'x'),
                            .headers = {kJson, cookie, "X-CSRF-Token: " + csrf}});
  EXPECT_TRUE(huge_authed.status == 413 || huge_authed.curl != CURLE_OK) << huge_authed.status;
  Reply long_header = call({.url = ts.url("/api/health"), .headers = {"X-Big: " + std::string(20000, 'a')}});
  EXPECT_EQ(long_header.status, 431);

  // A route may accept more than the default (e.g. an upload), and chunked bodies are
  // held to the same limits.
  Reply upload = call({.method = "POST", .url = ts.url("/api/test/upload"), .body = std::string(2 << 20, 'u'),
                       .headers = {"Content-Type: application/octet-stream"}});
  EXPECT_EQ(upload.status, 200);
  EXPECT_EQ(upload.body, std::to_string(2 << 20));
  Reply chunked = call({.method = "POST", .url = ts.url("/api/test/upload"), .body = std::string(4 << 20, 'u'),
                        .headers = {"Transfer-Encoding: chunked"}});
  EXPECT_TRUE(chunked.status == 413 || chunked.curl != CURLE_OK) << chunked.status;

  SseClient raw;  // any raw socket will do
  ASSERT_TRUE(raw.open(ts.server->port(), "/api/health HTTP/1.1\r\nBroken header line without colon\r\nX: y"));
  raw.read_to_eof(3s);
  EXPECT_EQ(raw.status(), 400);
}

TEST(HttpServer, StreamedBodiesWithBackpressure) {
  TestServer ts;
  ts.router->get("/api/test/download",
                 [](Request& req) -> Result<Response> {
                   bool sized = req.query_param("sized").has_value();
                   auto fail = req.query_param("fail");
                   std::optional<uint64_t> fail_at;
                   if (fail) fail_at = std::stoull(*fail);
                   return Response::streaming(std::make_unique<PatternReader>(kSize, fail_at),
                                              "application/octet-stream",
                                              sized ? std::optional<uint64_t>(kSize) : std::nullopt)
                       .with_header("Content-Disposition", "attachment; filename=\"b.stsnap\"");
                 },
                 {.access = Access::kPublic, .exec = Exec::kBlocking});
  ASSERT_TRUE(ts.start().ok());
  std::string expected = sha256_hex(pattern(kSize));

  Reply chunked = call({.url = ts.url("/api/test/download")});
  ASSERT_EQ(chunked.curl, CURLE_OK);
  EXPECT_EQ(chunked.status, 200);
  EXPECT_EQ(chunked.header("transfer-encoding"), "chunked");
  EXPECT_EQ(chunked.body.size(), kSize);
  EXPECT_EQ(sha256_hex(chunked.body), expected);

  Reply sized = call({.url = ts.url("/api/test/download?sized=1")});
  ASSERT_EQ(sized.curl, CURLE_OK);
  EXPECT_EQ(sized.header("content-length"), std::to_string(kSize));
  EXPECT_EQ(sha256_hex(sized.body), expected);

  // An error mid-stream aborts the connection: the client sees a broken transfer.
  Reply broken = call({.url = ts.url("/api/test/download?fail=3000000")});
  EXPECT_NE(broken.curl, CURLE_OK);
  EXPECT_LT(broken.body.size(), kSize);
  Reply broken_sized = call({.url = ts.url("/api/test/download?sized=1&fail=3000000")});
  EXPECT_NE(broken_sized.curl, CURLE_OK);
  // The server is fine afterwards.
  EXPECT_EQ(call({.url = ts.url("/api/health")}).status, 200);
}

TEST(HttpServer, BlockingRoutesDoNotStallTheIoThreads) {
  TestServer ts;
  ts.router->get("/api/test/slow",
                 [](Request&) -> Result<Response> {
                   std::this_thread::sleep_for(1500ms);
                   return Response::json(200, Json{{"slow", true}});
                 },
                 {.access = Access::kPublic, .exec = Exec::kBlocking});
  ASSERT_TRUE(ts.start({.io_threads = 1, .worker_threads = 2}).ok());
  std::vector<std::thread> slow;
  for (int i = 0; i < 2; ++i) slow.emplace_back([&] { EXPECT_EQ(call({.url = ts.url("/api/test/slow")}).status, 200); });
  std::this_thread::sleep_for(200ms);
  Reply fast = call({.url = ts.url("/api/health")});
  EXPECT_EQ(fast.status, 200);
  EXPECT_LT(fast.seconds, 0.5);
  for (auto& t : slow) t.join();
}

TEST(HttpServer, KeepAliveReusesTheConnection) {
  TestServer ts;
  ASSERT_TRUE(ts.start().ok());
  CURL* h = curl_easy_init();
  Reply a = call({.url = ts.url("/api/health"), .reuse = h});
  Reply b = call({.url = ts.url("/api/setup"), .reuse = h});
  curl_easy_cleanup(h);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(a.new_connections, 1);
  EXPECT_EQ(b.new_connections, 0);
}

TEST(HttpServer, GracefulStopFinishesInFlightRequests) {
  TestServer ts;
  std::atomic<bool> entered{false};
  ts.router->get("/api/test/slow",
                 [&](Request&) -> Result<Response> {
                   entered = true;
                   std::this_thread::sleep_for(400ms);
                   return Response::json(200, Json{{"done", true}});
                 },
                 {.access = Access::kPublic, .exec = Exec::kBlocking});
  ASSERT_TRUE(ts.start().ok());
  std::string url = ts.url("/api/test/slow");
  SseClient idle;  // an idle keep-alive connection must not hold up the stop
  ASSERT_TRUE(idle.open(ts.server->port(), "/api/health"));
  Reply slow;
  std::thread t([&] { slow = call({.url = url}); });
  while (!entered) std::this_thread::sleep_for(5ms);
  auto begin = std::chrono::steady_clock::now();
  ts.server->stop();
  auto took = std::chrono::steady_clock::now() - begin;
  t.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_LT(took, 3s);
  EXPECT_NE(call({.url = url, .timeout_ms = 1000}).curl, CURLE_OK);  // no longer listening
}

TEST(HttpServer, DashboardFilesAndClientSideRoutes) {
  TestServer ts;
  ASSERT_TRUE(ts.start().ok());
  Reply root = call({.url = ts.url("/")});
  ASSERT_EQ(root.status, 200);
  EXPECT_EQ(root.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(root.header("cache-control"), "no-cache");
  EXPECT_TRUE(root.header("content-security-policy").has_value());
  EXPECT_NE(root.body.find("StackSnap"), std::string::npos);
  Reply deep = call({.url = ts.url("/backups/42?tab=files")});
  EXPECT_EQ(deep.status, 200);
  EXPECT_EQ(deep.body, root.body);
  EXPECT_EQ(call({.url = ts.url("/assets/index-deadbeef.js")}).status, 404);
  Reply api = call({.url = ts.url("/api/nope")});
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.json()["code"], "NotFound");
  Reply head = call({.method = "HEAD", .url = ts.url("/")});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(root.body.size()));
  EXPECT_TRUE(head.body.empty());
}

}  // namespace
}  // namespace stacksnap::http::testing
