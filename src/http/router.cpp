#include "http/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "http/secret.h"
#include "http/url.h"

namespace stacksnap::http {

struct Router::Route {
  Method method;
  std::string pattern;
  RouteOptions options;
  Handler handler;
  bool event_stream = false;
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool param = false;
  };
  std::vector<Segment> segments;
};

namespace {

const RouteOptions kFallbackOptions{.access = Access::kPublic, .exec = Exec::kInline};

bool valid_param_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool is_api_path(std::string_view path) { return path == "/api" || path.starts_with("/api/"); }

}  // namespace

const RouteOptions& Router::Match::options() const { return route ? route->options : kFallbackOptions; }

Router::Router(Authenticator* auth) : auth_(auth) {}
Router::~Router() = default;

Router& Router::add(Method method, std::string pattern, Handler handler, RouteOptions options) {
  auto r = std::make_unique<Route>();
  r->method = method;
  r->options = options;
  r->handler = std::move(handler);
  auto fail = [&](const std::string& why) -> Router& {
    if (!invalid_) invalid_ = invalid_argument("route " + std::string(method_name(method)) + " " + pattern + ": " + why);
    return *this;
  };
  if (method == Method::kHead || method == Method::kOther) return fail("register GET (HEAD is served by it)");
  if (!r->handler) return fail("no handler");
  if (pattern.empty() || pattern.front() != '/') return fail("a pattern starts with '/'");
  if (pattern != "/") {
    std::string_view rest = std::string_view(pattern).substr(1);
    while (true) {
      size_t slash = rest.find('/');
      std::string_view seg = rest.substr(0, slash);
      if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
        std::string_view name = seg.substr(1, seg.size() - 2);
        if (!valid_param_name(name)) return fail("bad parameter name '" + std::string(name) + "'");
        for (const auto& s : r->segments) {
          if (s.param && s.text == name) return fail("parameter '" + std::string(name) + "' appears twice");
        }
        r->segments.push_back({std::string(name), true});
      } else {
        if (seg.empty()) return fail("empty segment");
        if (seg.find_first_of("{}?#%") != std::string_view::npos) return fail("bad literal segment '" + std::string(seg) + "'");
        r->segments.push_back({std::string(seg), false});
      }
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
  }
  for (const auto& existing : routes_) {
    if (existing->method != method || existing->segments.size() != r->segments.size()) continue;
    bool same = true;
    for (size_t i = 0; i < r->segments.size() && same; ++i) {
      const auto& a = existing->segments[i];
      const auto& b = r->segments[i];
      same = a.param == b.param && (a.param || a.text == b.text);
    }
    if (same) return fail("conflicts with " + existing->pattern);
  }
  r->pattern = std::move(pattern);
  routes_.push_back(std::move(r));
  return *this;
}

Router& Router::sse(std::string pattern, SseHandler handler, RouteOptions options) {
  if (!handler) {
    if (!invalid_) invalid_ = invalid_argument("route GET " + pattern + ": no handler");
    return *this;
  }
  size_t before = routes_.size();
  add(Method::kGet, std::move(pattern),
      [h = std::move(handler)](Request& req) -> Result<Response> {
        SseSource src = TRY(h(req));
        return Response::event_stream(std::move(src));
      },
      options);
  if (routes_.size() > before) routes_.back()->event_stream = true;
  return *this;
}

void Router::set_fallback(Handler handler) {
  fallback_ = std::make_unique<Route>();
  fallback_->method = Method::kGet;
  fallback_->pattern = "(dashboard)";
  fallback_->options = kFallbackOptions;
  fallback_->handler = std::move(handler);
}

Status Router::validate() const {
  if (invalid_) return *invalid_;
  return {};
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) {
    out.push_back({r->method, r->pattern, r->options.access, r->options.exec, r->event_stream});
  }
  return out;
}

Router::Match Router::match(Method method, std::string_view raw_path) const {
  Match m;
  auto segments = split_path(raw_path);
  if (!segments) return m;
  Method want = method == Method::kHead ? Method::kGet : method;
  const Route* best = nullptr;
  std::vector<std::string> allow;
  for (const auto& r : routes_) {
    if (r->segments.size() != segments->size()) continue;
    bool ok = true;
    for (size_t i = 0; i < segments->size() && ok; ++i) {
      const auto& s = r->segments[i];
      ok = s.param ? !(*segments)[i].empty() : s.text == (*segments)[i];
    }
    if (!ok) continue;
    if (r->method != want) {
      std::string name(method_name(r->method));
      if (std::find(allow.begin(), allow.end(), name) == allow.end()) allow.push_back(name);
      if (r->method == Method::kGet && std::find(allow.begin(), allow.end(), "HEAD") == allow.end()) {
        allow.push_back("HEAD");
      }
      continue;
    }
    if (best) {
      // Prefer the route whose first differing segment is a literal.
      bool better = false;
      for (size_t i = 0; i < segments->size(); ++i) {
        if (r->segments[i].param != best->segments[i].param) {
          better = !r->segments[i].param;
          break;
        }
      }
      if (!better) continue;
    }
    best = r.get();
  }
  if (best) {
    m.route = best;
    m.status = 200;
    for (size_t i = 0; i < segments->size(); ++i) {
      if (best->segments[i].param) m.params[best->segments[i].text] = (*segments)[i];
    }
    return m;
  }
  if (!allow.empty()) {
    m.status = 405;
    for (const auto& a : allow) m.allow += (m.allow.empty() ? "" : ", ") + a;
    return m;
  }
  if (fallback_ && (method == Method::kGet || method == Method::kHead) && !is_api_path(raw_path)) {
    m.route = fallback_.get();
    m.status = 200;
  }
  return m;
}

Response Router::unmatched(const Match& m) {
  if (m.status == 405) {
    // A protocol-level answer: status 405 (not the table's 400) so clients see Allow.
    Response r = Response::error(invalid_argument("method not allowed on this path; allowed: " + m.allow));
    r.status = 405;
    r.with_header("Allow", m.allow);
    return r;
  }
  return Response::error(not_found("no such route"));
}

std::optional<Response> Router::authorize(const Match& m, Request& req) const {
  if (!m.route || m.route->options.access == Access::kPublic || req.principal) return std::nullopt;
  const RouteOptions& o = m.route->options;
  Result<std::optional<Principal>> found = auth_ ? auth_->authenticate(req) : std::optional<Principal>();
  if (!found.ok()) return Response::error(found.error().with_context("check credentials"));
  std::optional<Principal>& p = *found;
  if (!p) {
    return Response::error(unauthenticated("authentication required: log in, or send an API token as "
                                           "'Authorization: Bearer ss_…'"))
        .with_header("WWW-Authenticate", "Bearer realm=\"stacksnap\"");
  }
  if (o.access == Access::kSessionOnly && p->via != AuthVia::kSession) {
    return Response::error(permission_denied("this needs a logged-in session; API tokens cannot do it"));
  }
  if (is_mutating(req.method) && p->via == AuthVia::kSession) {
    auto token = req.header("x-csrf-token");
    if (!token || !constant_time_equal(*token, p->csrf_token)) {
      return Response::error(permission_denied("missing or wrong CSRF token"));
    }
  }
  req.principal = std::move(*p);
  return std::nullopt;
}

Response Router::invoke(const Match& m, Request& req) const {
  if (!m.route) return unmatched(m);
  const Route& r = *m.route;
  req.params = m.params;
  if (auto refusal = authorize(m, req)) return std::move(*refusal);
  try {
    Result<Response> res = r.handler(req);
    if (!res.ok()) return Response::error(res.error());
    return std::move(res).value();
  } catch (const std::exception& e) {
    spdlog::error("http: {} {} threw: {}", method_name(req.method), r.pattern, e.what());
    return Response::error(internal_error("internal error while handling " + std::string(method_name(req.method)) +
                                          " " + r.pattern));
  }
}

Response Router::handle(Request& req) const {
  Match m = match(req.method, req.path);
  return invoke(m, req);
}

}  // namespace stacksnap::http
