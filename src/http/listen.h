// The listen address and the policy around it: loopback is fine; any other address needs
// TLS, or an explicit opt-in (--allow-insecure-listen) that is warned about.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace stacksnap::http {

struct ListenAddress {
  std::string ip;      // literal IPv4/IPv6 address ("localhost" becomes 127.0.0.1)
  uint16_t port = 0;   // 0: any free port (tests)
  bool loopback = false;
  std::string display() const;  // "127.0.0.1:8080", "[::1]:8080"
};

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080", "0.0.0.0:8443", "[::]:8443".
// Host names other than localhost are refused (no DNS at startup; say the address).
Result<ListenAddress> parse_listen(std::string_view spec);

enum class InsecureListen { kRefuse, kAllow };

// Ok for loopback, or with TLS. Otherwise FailedPrecondition, unless `insecure` is kAllow:
// then ok with a warning text to print. The second member is that warning (empty: none).
Result<std::string> check_listen_policy(const ListenAddress& addr, bool tls, InsecureListen insecure);

}  // namespace stacksnap::http
