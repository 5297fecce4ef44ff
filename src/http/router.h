// Routing: method + pattern → handler, with the auth requirement carried by the route.
//
//   router.get("/api/backups/{id}", handler, {.exec = Exec::kBlocking});
//   router.post("/api/backups/{id}/verify", handler, {.exec = Exec::kBlocking});
//   router.sse("/api/jobs/{id}/events", sse_handler);
//
// Patterns are '/'-separated literal segments and "{name}" segments (one non-empty path
// segment, percent-decoded, in Request::params). A literal segment beats a parameter
// where both match ("/api/backups/stats" before "/api/backups/{id}"). HEAD is served by
// GET routes (the server drops the body).
//
// Every route states its Access. Before a non-public handler runs, the router asks the
// Authenticator: no valid credentials → 401; a Bearer token on a kSessionOnly route →
// 403; a mutating method (POST/PUT/PATCH/DELETE) authenticated by a session cookie
// without the session's X-CSRF-Token → 403. The server runs these checks (authorize())
// as soon as a request's header is read, before any of its body. Handlers run on the io
// threads (kInline: must not block), on the server's worker pool (kBlocking: Docker,
// SQLite), or on its small, bounded password pool (kPasswordHash: Argon2, so that a burst
// of logins never takes the workers other requests need).
//
// Thread-safety: register everything before Server::start; afterwards the router is
// read-only and match()/invoke() are safe from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "http/message.h"

namespace stacksnap::http {

class CredentialWatch;

enum class Access {
  kPublic,       // no credentials needed (health, setup, login, dashboard files)
  kUser,         // a session cookie (+ CSRF on mutations) or a Bearer API token
  kSessionOnly,  // a session cookie only: password change and token management
};
enum class Exec { kInline, kBlocking, kPasswordHash };

struct RouteOptions {
  Access access = Access::kUser;
  Exec exec = Exec::kInline;
  size_t body_limit = kDefaultBodyLimit;  // larger bodies → 413
};

using Handler = std::function<Result<Response>(Request&)>;
using SseHandler = std::function<Result<SseSource>(Request&)>;

// Resolves a request's credentials (session cookie or "Authorization: Bearer …").
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The principal, or nullopt when there are no credentials or they are invalid,
  // expired or revoked; an error when they cannot be checked now (the state database
  // is busy → 503). Thread-safe; called on io threads for kInline routes, so it must be
  // quick (an indexed SQLite read, no password hashing).
  virtual Result<std::optional<Principal>> authenticate(const Request& req) = 0;
  // Where long-lived requests register to hear that their credentials ended; nullptr:
  // they are not told (event streams then end with the connection only).
  virtual CredentialWatch* credential_watch() { return nullptr; }
};

// A registered route, as listed by Router::routes() (e.g. for the auth matrix test).
struct RouteInfo {
  Method method;
  std::string pattern;
  Access access;
  Exec exec;
  bool event_stream;  // registered with sse()
};

class Router {
 public:
  struct Route;
  // The result of matching a method and path.
  struct Match {
    const Route* route = nullptr;              // null: see status
    int status = 404;                          // 200 matched, 404 no such path, 405 wrong method
    std::string allow;                         // for 405: "GET, POST"
    std::map<std::string, std::string> params;
    const RouteOptions& options() const;       // of the route, or public/inline defaults
  };

  explicit Router(Authenticator* auth = nullptr);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void set_authenticator(Authenticator* auth) { auth_ = auth; }
  Authenticator* authenticator() const { return auth_; }

  Router& add(Method method, std::string pattern, Handler handler, RouteOptions options = {});
  Router& get(std::string pattern, Handler h, RouteOptions o = {}) { return add(Method::kGet, std::move(pattern), std::move(h), o); }
  Router& post(std::string pattern, Handler h, RouteOptions o = {}) { return add(Method::kPost, std::move(pattern), std::move(h), o); }
  Router& put(std::string pattern, Handler h, RouteOptions o = {}) { return add(Method::kPut, std::move(pattern), std::move(h), o); }
  Router& patch(std::string pattern, Handler h, RouteOptions o = {}) { return add(Method::kPatch, std::move(pattern), std::move(h), o); }
  Router& del(std::string pattern, Handler h, RouteOptions o = {}) { return add(Method::kDelete, std::move(pattern), std::move(h), o); }
  // A GET route answering with a server-sent event stream; the handler runs on the
  // worker pool (it usually checks that the job exists).
  Router& sse(std::string pattern, SseHandler handler, RouteOptions options = {.exec = Exec::kBlocking});

  // Public handler for GET/HEAD requests outside /api/ that match no route (the dashboard).
  void set_fallback(Handler handler);

  // The first registration error (bad pattern, duplicate method+pattern), or ok.
  // Server::start refuses to start with an invalid router.
  Status validate() const;
  std::vector<RouteInfo> routes() const;

  Match match(Method method, std::string_view raw_path) const;
  // Auth and CSRF for a matched non-public route: sets req.principal, or returns the
  // refusal (401, 403, 503). Nothing for public routes or once req.principal is set.
  std::optional<Response> authorize(const Match& m, Request& req) const;
  // authorize(), then the handler; errors (and exceptions) become error responses.
  // Fills req.params from the match.
  Response invoke(const Match& m, Request& req) const;
  // match() + invoke(), with 404/405 answered as JSON errors.
  Response handle(Request& req) const;

  // The response for an unmatched request (404 or 405 with Allow).
  static Response unmatched(const Match& m);

 private:
  Authenticator* auth_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::unique_ptr<Route> fallback_;
  std::optional<Error> invalid_;
};

}  // namespace stacksnap::http
