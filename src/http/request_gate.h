// The checks every request passes as soon as its header is read, before routing and
// before any of its body (docs/adr/0005-appliance-exposure.md):
//   1. who sent it: Request::client_ip from the peer and, for a trusted proxy, its
//      X-Forwarded-For (client_address.h);
//   2. the Host header names this server (host_policy.h), else 421 — static files and
//      /api/health included;
//   3. a state-changing method comes from this server's own origin, else 403.
// Authentication follows (Router::authorize), also before the body is read.
//
// Thread-safe after construction.
#pragma once

#include <optional>

#include "http/client_address.h"
#include "http/host_policy.h"
#include "http/message.h"

namespace stacksnap::http {

struct RequestGate {
  HostPolicy hosts;
  TrustedProxies proxies;

  // Fills req.client_ip; returns the refusal, or nullopt when the request may go on.
  std::optional<Response> screen(Request& req) const;
};

// Every value of header `lower_name`, joined by ','; nullopt when there is none.
std::optional<std::string> joined_header(const Request& req, std::string_view lower_name);

}  // namespace stacksnap::http
