#include "http/auth_routes.h"

#include <charconv>

namespace stacksnap::http {
namespace {

Response too_many_attempts(std::chrono::seconds wait) {
  return Response::error(resource_exhausted("too many failed password attempts; try again in " +
                                            std::to_string(wait.count()) + " s"))
      .with_header("Retry-After", std::to_string(wait.count()));
}

const std::string& client_of(const Request& req) { return req.client_ip.empty() ? req.remote_ip : req.client_ip; }

// What a password check's result means for the rate limiter.
template <class R>
AttemptResult outcome_of(const R& r) {
  if (r.ok()) return AttemptResult::kSucceeded;
  return r.error().code() == Code::kUnauthenticated ? AttemptResult::kFailed : AttemptResult::kNotChecked;
}

constexpr RouteOptions kPasswordRoute{.access = Access::kPublic, .exec = Exec::kPasswordHash, .body_limit = 8192};

Json session_json(const AuthService::NewSession& s) {
  return Json{{"user", AuthService::kAdmin}, {"csrf_token", s.csrf_token}, {"expires_at", s.expires_at}};
}

Json token_json(const ApiTokenRecord& t) {
  return Json{{"id", t.id}, {"name", t.name}, {"prefix", t.prefix}, {"created_at", t.created_at},
              {"last_used", t.last_used}};
}

}  // namespace

void register_auth_routes(Router& router, AuthService& auth, LoginRateLimiter& limiter) {
  router.get("/api/setup",
             [&auth](Request&) -> Result<Response> {
               bool needs = TRY(auth.needs_setup());
               return Response::json(200, Json{{"needs_setup", needs}});
             },
             {.access = Access::kPublic});

  router.post("/api/setup",
              [&auth, &limiter](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string password = TRY(json_string(body, "password"));
                std::string token = body.contains("setup_token") ? TRY(json_string(body, "setup_token", 256)) : "";
                TRY(auth.setup(password, token));
                limiter.remember(client_of(req), AuthService::kAdmin);
                auto s = TRY(auth.open_session(AuthService::kAdmin));
                return Response::json(201, session_json(s)).with_header("Set-Cookie", auth.session_cookie(s, req.tls));
              },
              kPasswordRoute);

  router.post("/api/login",
              [&auth, &limiter](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string password = TRY(json_string(body, "password"));
                LoginAttempt attempt = limiter.begin(client_of(req), AuthService::kAdmin);
                if (!attempt.admitted()) return too_many_attempts(attempt.retry_after());
                auto s = auth.login(password);
                attempt.finish(outcome_of(s));
                if (!s.ok()) return std::move(s).error();
                return Response::json(200, session_json(*s)).with_header("Set-Cookie", auth.session_cookie(*s, req.tls));
              },
              kPasswordRoute);

  router.get("/api/session", [](Request& req) -> Result<Response> {
    const Principal& p = *req.principal;
    Json out{{"user", p.user}, {"auth", p.via == AuthVia::kSession ? "session" : "token"}};
    if (p.via == AuthVia::kSession) out["csrf_token"] = p.csrf_token;
    return Response::json(200, out);
  });

  router.post("/api/logout",
              [&auth](Request& req) -> Result<Response> {
                TRY(auth.logout(*req.principal));
                return Response::no_content().with_header("Set-Cookie", auth.expired_cookie(req.tls));
              },
              {.access = Access::kSessionOnly, .exec = Exec::kBlocking});

  router.post("/api/password",
              [&auth, &limiter](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string current = TRY(json_string(body, "current"));
                std::string next = TRY(json_string(body, "new"));
                bool revoke = true;
                if (body.contains("revoke_tokens")) {
                  if (!body["revoke_tokens"].is_boolean()) return invalid_argument("'revoke_tokens' must be true or false");
                  revoke = body["revoke_tokens"].get<bool>();
                }
                LoginAttempt attempt = limiter.begin(client_of(req), req.principal->user);
                if (!attempt.admitted()) return too_many_attempts(attempt.retry_after());
                auto st = auth.change_password(*req.principal, current, next, revoke ? RevokeTokens::kYes : RevokeTokens::kNo);
                attempt.finish(outcome_of(st));
                if (!st.ok() && st.error().code() == Code::kUnauthenticated) {
                  // Not 401: the session is fine, the form field is wrong.
                  return invalid_argument("the current password is wrong");
                }
                TRY(st);
                return Response::no_content();
              },
              {.access = Access::kSessionOnly, .exec = Exec::kPasswordHash, .body_limit = 8192});

  router.get("/api/tokens",
             [&auth](Request&) -> Result<Response> {
               auto tokens = TRY(auth.list_tokens());
               Json list = Json::array();
               for (const auto& t : tokens) list.push_back(token_json(t));
               return Response::json(200, Json{{"tokens", list}});
             },
             {.exec = Exec::kBlocking});

  router.post("/api/tokens",
              [&auth](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string name = TRY(json_string(body, "name", 100));
                auto t = TRY(auth.create_token(name));
                Json out = token_json(t.record);
                out["token"] = t.token;
                return Response::json(201, out);
              },
              {.access = Access::kSessionOnly, .exec = Exec::kBlocking, .body_limit = 8192});

  router.del("/api/tokens/{id}",
             [&auth](Request& req) -> Result<Response> {
               std::string raw = req.param("id");
               int64_t id = 0;
               auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
               if (ec != std::errc() || end != raw.data() + raw.size() || id <= 0) {
                 return invalid_argument("a token id is a positive integer");
               }
               TRY(auth.revoke_token(id));
               return Response::no_content();
             },
             {.access = Access::kSessionOnly, .exec = Exec::kBlocking});
}

}  // namespace stacksnap::http
