// Who a request comes from, behind reverse proxies (`serve --trusted-proxy ADDR[/BITS]`).
//
// From a trusted peer, the client is the right-most X-Forwarded-For address that is not
// itself a trusted proxy (each proxy appends the address it saw; whatever lies left of the
// last trusted hop is the client's own claim and worth nothing), and X-Forwarded-Proto
// names the scheme the client used. From any other peer both headers are ignored: the
// client is the peer. IPv4-mapped IPv6 peers (::ffff:a.b.c.d) compare as IPv4.
//
// Pure and thread-safe after parse(); inputs are untrusted header text.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace stacksnap::http {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8". InvalidArgument naming a bad entry.
  static Result<TrustedProxies> parse(const std::vector<std::string>& specs);

  bool empty() const { return nets_.empty(); }
  bool contains(std::string_view ip) const;

  // The client's address for a request from `peer` carrying `forwarded_for` (all
  // X-Forwarded-For values joined by ','; nullopt when none was sent).
  std::string client_address(const std::string& peer, std::optional<std::string_view> forwarded_for) const;
  // "http" or "https": X-Forwarded-Proto from a trusted peer, else by the connection.
  std::string scheme(const std::string& peer, std::optional<std::string_view> forwarded_proto, bool tls) const;

 private:
  struct Net {
    int family = 0;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> addr{};
    int bits = 0;
  };
  static std::optional<Net> parse_ip(std::string_view ip);
  std::vector<Net> nets_;
};

}  // namespace stacksnap::http
