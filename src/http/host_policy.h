// Which names this server answers to, and which pages may change its state
// (docs/API.md, "Host names and origins"; docs/adr/0005-appliance-exposure.md).
//
// Host: a request is served only when its Host header names a loopback host (localhost,
// *.localhost, 127.0.0.0/8, [::1]), the host of --public-url, an --allowed-host, or the
// listen address itself when it is a specific one. Anything else — above all a DNS-rebinding
// page whose own name now resolves to 127.0.0.1 — is refused with 421 before routing. Ports
// are not compared: the name is what an attacker controls.
//
// Origin: a state-changing request (POST, PUT, PATCH, DELETE) that carries an Origin header
// must come from this server's own origin: the request's scheme with the Host header's
// name and port, or the --public-url origin. "null" and unparsable origins are refused.
// Without Origin, a Sec-Fetch-Site header must say same-origin (or none: typed by the
// user). Requests without either header (curl, scripts) pass: they carry no ambient
// credentials a page could abuse.
//
// Pure and thread-safe after create(); inputs are untrusted header text.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace stacksnap::http {

struct WebOrigin {
  std::string scheme;  // "http" | "https"
  std::string host;    // lower-case; IPv6 in brackets: "[::1]"
  uint16_t port = 0;   // explicit or the scheme's default
  bool operator==(const WebOrigin&) const = default;
  std::string to_string() const;  // "https://backup.example.com", ":port" only when not the default
};

// "scheme://host[:port]" with an optional trailing "/", http or https only.
std::optional<WebOrigin> parse_origin(std::string_view text);

struct HostHeader {
  std::string name;                // lower-case, without a trailing dot; IPv6 in brackets
  std::optional<uint16_t> port;
};
// "Example.com:8080" → {"example.com", 8080}; nullopt when malformed.
std::optional<HostHeader> parse_host_header(std::string_view value);

// true for localhost, *.localhost, 127.0.0.0/8 and [::1].
bool is_loopback_host(std::string_view name);

struct HostPolicyOptions {
  std::string public_url;                  // "https://backup.example.com" (no path)
  std::vector<std::string> allowed_hosts;  // "nas.local", "192.168.1.5", "fd00::5"
  std::string listen_ip;                   // allowed too unless a wildcard (0.0.0.0, ::)
};

class HostPolicy {
 public:
  HostPolicy() = default;  // loopback names only
  // InvalidArgument for a public URL that is not http(s)://host[:port][/] or a bad host name.
  static Result<HostPolicy> create(const HostPolicyOptions& options);

  bool allows_host(std::optional<std::string_view> host_header) const;
  // For state-changing requests; `scheme` is the request's (see TrustedProxies::scheme).
  bool allows_origin(std::optional<std::string_view> origin, std::optional<std::string_view> fetch_site,
                     std::optional<std::string_view> host_header, std::string_view scheme) const;

  const std::optional<WebOrigin>& public_origin() const { return public_; }

 private:
  std::set<std::string> names_;
  std::optional<WebOrigin> public_;
};

}  // namespace stacksnap::http
