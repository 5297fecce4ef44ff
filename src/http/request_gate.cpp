#include "http/request_gate.h"

namespace stacksnap::http {
namespace {

constexpr int kMisdirected = 421;

Response misdirected() {
  Response r = Response::error(permission_denied(
      "this server does not answer to the host name in this request; open it by an allowed name "
      "(localhost, or one given with --public-url or --allowed-host)"));
  r.status = kMisdirected;
  return r;
}

}  // namespace

std::optional<std::string> joined_header(const Request& req, std::string_view lower_name) {
  std::optional<std::string> out;
  for (const auto& h : req.headers) {
    if (h.name != lower_name) continue;
    out = out ? *out + "," + h.value : h.value;
  }
  return out;
}

std::optional<Response> RequestGate::screen(Request& req) const {
  auto forwarded = joined_header(req, "x-forwarded-for");
  req.client_ip = proxies.client_address(req.remote_ip, forwarded);
  auto host = joined_header(req, "host");  // two Host headers join into one bad name
  if (!hosts.allows_host(host)) return misdirected();
  if (!is_mutating(req.method)) return std::nullopt;
  std::string scheme = proxies.scheme(req.remote_ip, req.header("x-forwarded-proto"), req.tls);
  if (!hosts.allows_origin(req.header("origin"), req.header("sec-fetch-site"), host, scheme)) {
    return Response::error(permission_denied(
        "cross-origin request refused: state-changing requests must come from this server's own pages "
        "(behind a reverse proxy, start the server with --public-url)"));
  }
  return std::nullopt;
}

}  // namespace stacksnap::http
