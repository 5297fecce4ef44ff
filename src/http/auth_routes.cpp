#include "http/auth_routes.h"

#include <charconv>

namespace stacksnap::http {
namespace {

Response too_many_attempts(std::chrono::seconds wait) {
  return Response::error(resource_exhausted("too many failed password attempts from this address; try again in " +
                                            std::to_string(wait.count()) + " s"))
      .with_header("Retry-After", std::to_string(wait.count()));
}

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
              [&auth](Request& req) -> Result<Response> {
                Json body = TRY(req.json_body());
                std::string password = TRY(json_string(body, "password"));
                TRY(auth.setup(password));
                auto s = TRY(auth.open_session(AuthService::kAdmin));
                return Response::json(201, session_json(s)).with_header("Set-Cookie", auth.session_cookie(s, req.tls));
              },
              {.access = Access::kPublic, .exec = Exec::kBlocking, .body_limit = 8192});

  router.post("/api/login",
              [&auth, &limiter](Request& req) -> Result<Response> {
                if (auto wait = limiter.retry_after(req.remote_ip)) return too_many_attempts(*wait);
                Json body = TRY(req.json_body());
                std::string password = TRY(json_string(body, "password"));
                auto s = auth.login(password);
                if (!s.ok()) {
                  if (s.error().code() == Code::kUnauthenticated) limiter.record_failure(req.remote_ip);
                  return std::move(s).error();
                }
                limiter.record_success(req.remote_ip);
                return Response::json(200, session_json(*s)).with_header("Set-Cookie", auth.session_cookie(*s, req.tls));
              },
              {.access = Access::kPublic, .exec = Exec::kBlocking, .body_limit = 8192});

  router.get("/api/session", [](Request& req) -> Result<Response> {
    const Principal& p = *req.principal;
    Json out{{"user", p.user}, {"auth", p.via == AuthVia::kSession ? "session" : "token"}};
    if (p.via == AuthVia::kSession) out["csrf_token"] = p.csrf_token;
    return Response::json(200, out);
  });

  router.post("/api/logout",
              [&auth](Request& req) -> Result<Response> {
                TRY(auth.logout(*req.principal));
                return Response::no_content().with_header("Set-Cookie", AuthService::expired_cookie(req.tls));
              },
              {.access = Access::kSessionOnly, .exec = Exec::kBlocking});

  router.post("/api/password",
              [&auth, &limiter](Request& req) -> Result<Response> {
                if (auto wait = limiter.retry_after(req.remote_ip)) return too_many_attempts(*wait);
                Json body = TRY(req.json_body());
                std::string current = TRY(json_string(body, "current"));
                std::string next = TRY(json_string(body, "new"));
                auto st = auth.change_password(*req.principal, current, next);
                if (!st.ok()) {
                  if (st.error().code() == Code::kUnauthenticated) {
                    limiter.record_failure(req.remote_ip);
                    // Not 401: the session is fine, the form field is wrong.
                    return invalid_argument("the current password is wrong");
                  }
                  return std::move(st).error();
                }
                return Response::no_content();
              },
              {.access = Access::kSessionOnly, .exec = Exec::kBlocking, .body_limit = 8192});

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
