#include "http/listen.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace stacksnap::http {

std::string ListenAddress::display() const {
  bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

Result<ListenAddress> parse_listen(std::string_view spec) {
  auto bad = [&](const std::string& why) {
    return invalid_argument("listen address '" + std::string(spec) + "': " + why +
                            " (expected ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)");
  };
  std::string_view host, port;
  if (spec.starts_with("[")) {
    size_t close = spec.find(']');
    if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      return bad("unterminated IPv6 address");
    }
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else {
    size_t colon = spec.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("put an IPv6 address in brackets");
  }
  ListenAddress out;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  out.port = static_cast<uint16_t>(value);
  if (host.empty()) return bad("no address (use 0.0.0.0 for every IPv4 interface)");
  if (host == "localhost") host = "127.0.0.1";
  std::string h(host);
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, h.c_str(), &a4) == 1) {
    out.loopback = (ntohl(a4.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    out.loopback = IN6_IS_ADDR_LOOPBACK(&a6) ||
                   (std::memcmp(a6.s6_addr, kMapped, sizeof kMapped) == 0 && a6.s6_addr[12] == 127);
  } else {
    return bad("not an IP address (host names other than localhost are not resolved)");
  }
  out.ip = std::move(h);
  return out;
}

Result<std::string> check_listen_policy(const ListenAddress& addr, bool tls, InsecureListen insecure) {
  if (addr.loopback || tls) return std::string();
  if (insecure == InsecureListen::kAllow) {
    return "listening on " + addr.display() +
           " without TLS: passwords, session cookies and API tokens cross the network in clear text; "
           "use --tls-cert/--tls-key or a TLS reverse proxy on the same host";
  }
  return failed_precondition("refusing to listen on " + addr.display() +
                             " without TLS: pass --tls-cert and --tls-key, listen on 127.0.0.1 behind a TLS "
                             "reverse proxy, or accept the risk with --allow-insecure-listen");
}

}  // namespace stacksnap::http
