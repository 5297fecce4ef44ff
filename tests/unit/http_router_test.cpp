// Router matching, the auth/CSRF gate, the Code→HTTP status table, URL helpers and
// the listen-address policy: no sockets.
#include <gtest/gtest.h>

#include "http/listen.h"
#include "http/router.h"
#include "http/status.h"
#include "http/url.h"

namespace stacksnap::http {
namespace {

// Accepts "Authorization: Bearer good" as a token and "Cookie: s=good" as a session.
class FakeAuth final : public Authenticator {
 public:
  Result<std::optional<Principal>> authenticate(const Request& req) override {
    ++calls;
    if (fail) return unavailable("state database busy");
    if (auto a = req.header("authorization"); a && *a == "Bearer good") {
      return std::optional<Principal>(Principal{.user = "admin", .via = AuthVia::kToken, .token_id = 7});
    }
    if (auto c = req.header("cookie"); c && find_cookie(*c, "s") == "good") {
      return std::optional<Principal>(
          Principal{.user = "admin", .via = AuthVia::kSession, .session_key = "k", .csrf_token = "csrf-123"});
    }
    return std::optional<Principal>();
  }
  int calls = 0;
  bool fail = false;
};

Handler echo(std::string tag) {
  return [tag](Request& req) -> Result<Response> {
    Json params = Json::object();
    for (const auto& [k, v] : req.params) params[k] = v;
    return Response::json(200, Json{{"route", tag}, {"params", params}});
  };
}

Request make(Method m, std::string target, std::vector<Header> headers = {}) {
  Request r;
  r.method = m;
  r.target = target;
  Target t = split_target(r.target);
  r.path = std::string(t.path);
  r.query = parse_query(t.query);
  r.headers = std::move(headers);
  return r;
}

Json body_of(const Response& r) { return Json::parse(r.body); }

TEST(HttpStatus, OneTableForEveryCode) {
  EXPECT_EQ(http_status_for(Code::kOk), 200);
  EXPECT_EQ(http_status_for(Code::kInvalidArgument), 400);
  EXPECT_EQ(http_status_for(Code::kUnauthenticated), 401);
  EXPECT_EQ(http_status_for(Code::kPermissionDenied), 403);
  EXPECT_EQ(http_status_for(Code::kNotFound), 404);
  EXPECT_EQ(http_status_for(Code::kAlreadyExists), 409);
  EXPECT_EQ(http_status_for(Code::kFailedPrecondition), 409);
  EXPECT_EQ(http_status_for(Code::kAborted), 409);
  EXPECT_EQ(http_status_for(Code::kCancelled), 409);
  EXPECT_EQ(http_status_for(Code::kResourceExhausted), 429);
  EXPECT_EQ(http_status_for(Code::kDataLoss), 500);
  EXPECT_EQ(http_status_for(Code::kInternal), 500);
  EXPECT_EQ(http_status_for(Code::kUnimplemented), 501);
  EXPECT_EQ(http_status_for(Code::kUnavailable), 503);
  EXPECT_EQ(http_status_for(Code::kDeadlineExceeded), 504);
}

TEST(HttpResponse, ErrorBodyHasCodeAndMessage) {
  Response r = Response::error(not_found("no backup with ID 'x'"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(body_of(r), (Json{{"code", "NotFound"}, {"message", "no backup with ID 'x'"}}));
  // Invalid UTF-8 never throws on the way out.
  Response bad = Response::json(200, Json{{"s", std::string("\xff\xfe")}});
  EXPECT_FALSE(bad.body.empty());
}

TEST(HttpUrl, PercentDecodingAndQueries) {
  EXPECT_EQ(percent_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(percent_decode("a%20b+c", true), "a b c");
  EXPECT_FALSE(percent_decode("%2", false).has_value());
  EXPECT_FALSE(percent_decode("%zz", false).has_value());
  EXPECT_FALSE(percent_decode("a%00", false).has_value());
  auto q = parse_query("a=1&b=x%20y&c&&=skip&a=2&bad=%zz");
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q["a"], "1");  // first wins
  EXPECT_EQ(q["b"], "x y");
  EXPECT_EQ(q["c"], "");
  auto segs = split_path("/api/backups/a%2Fb/verify");
  ASSERT_TRUE(segs.has_value());
  EXPECT_EQ(*segs, (std::vector<std::string>{"api", "backups", "a/b", "verify"}));
  EXPECT_FALSE(split_path("api").has_value());
  EXPECT_EQ(split_target("/x?y=1").query, "y=1");
}

TEST(HttpUrl, Cookies) {
  EXPECT_EQ(find_cookie("a=1; stacksnap_session=abc; b=2", "stacksnap_session"), "abc");
  EXPECT_EQ(find_cookie("stacksnap_session=\"q\"", "stacksnap_session"), "q");
  EXPECT_FALSE(find_cookie("xstacksnap_session=abc", "stacksnap_session").has_value());
  EXPECT_FALSE(find_cookie("", "a").has_value());
}

TEST(HttpRouter, MatchesLiteralsBeforeParams) {
  Router r;
  const RouteOptions open{.access = Access::kPublic};
  r.get("/api/backups/{id}", echo("by-id"), open);
  r.get("/api/backups/stats", echo("stats"), open);
  r.post("/api/backups/{id}/verify", echo("verify"), open);
  ASSERT_TRUE(r.validate().ok());
  auto m = r.match(Method::kGet, "/api/backups/stats");
  ASSERT_EQ(m.status, 200);
  auto req = make(Method::kGet, "/api/backups/stats");
  EXPECT_EQ(body_of(r.invoke(m, req))["route"], "stats");

  req = make(Method::kGet, "/api/backups/shop%20db");
  Response res = r.handle(req);
  EXPECT_EQ(body_of(res)["route"], "by-id");
  EXPECT_EQ(body_of(res)["params"]["id"], "shop db");
}

TEST(HttpRouter, NotFoundMethodNotAllowedAndHead) {
  Router r;
  r.get("/api/items", echo("list"));
  r.post("/api/items", echo("create"));
  auto req = make(Method::kDelete, "/api/items");
  Response res = r.handle(req);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.header("allow"), "GET, HEAD, POST");
  req = make(Method::kGet, "/api/nothing");
  EXPECT_EQ(r.handle(req).status, 404);
  EXPECT_EQ(r.match(Method::kHead, "/api/items").status, 200);
  EXPECT_EQ(r.match(Method::kGet, "/api/items/").status, 404);  // no trailing-slash magic
  EXPECT_EQ(r.match(Method::kGet, "/api//items").status, 404);
}

TEST(HttpRouter, FallbackServesNonApiGetsOnly) {
  Router r;
  r.get("/api/health", echo("health"), {.access = Access::kPublic});
  r.set_fallback(echo("dashboard"));
  EXPECT_EQ(r.match(Method::kGet, "/backups/123").status, 200);
  EXPECT_EQ(r.match(Method::kHead, "/").status, 200);
  EXPECT_EQ(r.match(Method::kGet, "/api/unknown").status, 404);
  EXPECT_EQ(r.match(Method::kGet, "/api").status, 404);
  EXPECT_EQ(r.match(Method::kPost, "/backups").status, 404);
  auto req = make(Method::kGet, "/settings");
  EXPECT_EQ(body_of(r.handle(req))["route"], "dashboard");
}

TEST(HttpRouter, RejectsBadAndDuplicateRoutes) {
  {
    Router r;
    r.get("/api/x/{id}", echo("a"));
    r.get("/api/x/{name}", echo("b"));
    EXPECT_FALSE(r.validate().ok());
  }
  {
    Router r;
    r.get("api/x", echo("a"));
    EXPECT_FALSE(r.validate().ok());
  }
  {
    Router r;
    r.get("/api/{a}/{a}", echo("a"));
    EXPECT_FALSE(r.validate().ok());
  }
  {
    Router r;
    r.add(Method::kHead, "/api/x", echo("a"));
    EXPECT_FALSE(r.validate().ok());
  }
  Router ok;
  ok.get("/api/x", echo("a"));
  ok.post("/api/x", echo("b"));
  EXPECT_TRUE(ok.validate().ok());
  auto routes = ok.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].access, Access::kUser);  // authenticated unless said otherwise
}

class HttpRouterAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    router.set_authenticator(&auth);
    router.get("/api/open", echo("open"), {.access = Access::kPublic});
    router.get("/api/things", echo("things"));
    router.post("/api/things", echo("create"));
    router.post("/api/tokens", echo("token"), {.access = Access::kSessionOnly});
    router.get("/api/boom", [](Request&) -> Result<Response> { throw std::runtime_error("secret detail"); });
  }
  FakeAuth auth;
  Router router;
};

TEST_F(HttpRouterAuth, PublicRoutesSkipAuthentication) {
  auto req = make(Method::kGet, "/api/open");
  EXPECT_EQ(router.handle(req).status, 200);
  EXPECT_EQ(auth.calls, 0);
}

TEST_F(HttpRouterAuth, NoCredentialsIs401) {
  auto req = make(Method::kGet, "/api/things");
  Response res = router.handle(req);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(body_of(res)["code"], "Unauthenticated");
  req = make(Method::kGet, "/api/things", {{"cookie", "s=bad"}});
  EXPECT_EQ(router.handle(req).status, 401);
}

TEST_F(HttpRouterAuth, SessionMutationsNeedTheCsrfToken) {
  auto req = make(Method::kGet, "/api/things", {{"cookie", "s=good"}});
  EXPECT_EQ(router.handle(req).status, 200);  // reads need no token
  req = make(Method::kPost, "/api/things", {{"cookie", "s=good"}});
  Response res = router.handle(req);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(body_of(res), (Json{{"code", "PermissionDenied"}, {"message", "missing or wrong CSRF token"}}));
  req = make(Method::kPost, "/api/things", {{"cookie", "s=good"}, {"x-csrf-token", "csrf-124"}});
  EXPECT_EQ(router.handle(req).status, 403);
  req = make(Method::kPost, "/api/things", {{"cookie", "s=good"}, {"x-csrf-token", "csrf-12"}});
  EXPECT_EQ(router.handle(req).status, 403);
  req = make(Method::kPost, "/api/things", {{"cookie", "s=good"}, {"x-csrf-token", "csrf-123"}});
  EXPECT_EQ(router.handle(req).status, 200);
  ASSERT_TRUE(req.principal.has_value());
  EXPECT_EQ(req.principal->via, AuthVia::kSession);
}

TEST_F(HttpRouterAuth, BearerTokensNeedNoCsrfButCannotManageTokens) {
  auto req = make(Method::kPost, "/api/things", {{"authorization", "Bearer good"}});
  EXPECT_EQ(router.handle(req).status, 200);
  req = make(Method::kPost, "/api/tokens", {{"authorization", "Bearer good"}});
  EXPECT_EQ(router.handle(req).status, 403);
  req = make(Method::kPost, "/api/tokens", {{"cookie", "s=good"}, {"x-csrf-token", "csrf-123"}});
  EXPECT_EQ(router.handle(req).status, 200);
}

TEST_F(HttpRouterAuth, AuthBackendErrorsAndExceptionsBecomeErrorResponses) {
  auth.fail = true;
  auto req = make(Method::kGet, "/api/things", {{"cookie", "s=good"}});
  EXPECT_EQ(router.handle(req).status, 503);
  auth.fail = false;
  req = make(Method::kGet, "/api/boom", {{"cookie", "s=good"}});
  Response res = router.handle(req);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(body_of(res)["message"].get<std::string>().find("secret detail"), std::string::npos);
}

TEST(HttpRequest, JsonBodyNeedsJsonContentType) {
  Request r = make(Method::kPost, "/api/x", {{"content-type", "text/plain"}});
  r.body = R"({"a":1})";
  EXPECT_EQ(r.json_body().error().code(), Code::kInvalidArgument);
  r.headers = {{"content-type", "application/json; charset=utf-8"}};
  ASSERT_TRUE(r.json_body().ok());
  EXPECT_EQ((*r.json_body())["a"], 1);
  r.body = "[1]";
  EXPECT_FALSE(r.json_body().ok());
  r.body = "{";
  EXPECT_FALSE(r.json_body().ok());
  Json j{{"name", "x"}, {"n", 3}};
  EXPECT_EQ(*json_string(j, "name"), "x");
  EXPECT_FALSE(json_string(j, "n").ok());
  EXPECT_FALSE(json_string(j, "name", 0).ok());
  EXPECT_EQ(*json_int(j, "n"), 3);
}

TEST(HttpListen, ParsesAddresses) {
  auto a = parse_listen("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->loopback);
  EXPECT_EQ(a->port, 8080);
  EXPECT_TRUE(parse_listen("127.1.2.3:1")->loopback);
  EXPECT_TRUE(parse_listen("localhost:0")->loopback);
  EXPECT_EQ(parse_listen("localhost:0")->ip, "127.0.0.1");
  auto v6 = parse_listen("[::1]:9000");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->loopback);
  EXPECT_EQ(v6->display(), "[::1]:9000");
  EXPECT_FALSE(parse_listen("0.0.0.0:8080")->loopback);
  EXPECT_FALSE(parse_listen("[::]:8080")->loopback);
  EXPECT_FALSE(parse_listen("192.168.1.2:80")->loopback);
  for (const char* bad : {"8080", ":8080", "127.0.0.1:", "127.0.0.1:70000", "::1:80", "example.com:80", "[::1:80",
                          "127.0.0.1:8x"}) {
    EXPECT_EQ(parse_listen(bad).error().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(HttpListen, NonLoopbackNeedsTlsOrExplicitOptIn) {
  auto lo = *parse_listen("127.0.0.1:80");
  auto any = *parse_listen("0.0.0.0:80");
  EXPECT_EQ(*check_listen_policy(lo, false, InsecureListen::kRefuse), "");
  EXPECT_EQ(*check_listen_policy(any, true, InsecureListen::kRefuse), "");
  auto refused = check_listen_policy(any, false, InsecureListen::kRefuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kFailedPrecondition);
  auto warned = check_listen_policy(any, false, InsecureListen::kAllow);
  ASSERT_TRUE(warned.ok());
  EXPECT_NE(warned->find("without TLS"), std::string::npos);
}

}  // namespace
}  // namespace stacksnap::http
