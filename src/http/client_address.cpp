#include "http/client_address.h"
#include "base/text.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace stacksnap::http {
namespace {

bool prefix_matches(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  int whole = bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<size_t>(whole)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[static_cast<size_t>(whole)] & mask) == (b[static_cast<size_t>(whole)] & mask);
}

}  // namespace

std::optional<TrustedProxies::Net> TrustedProxies::parse_ip(std::string_view ip) {
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string text(ip);
  Net n;
  in6_addr a6{};
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    n.family = AF_INET;
    std::memcpy(n.addr.data(), &a4, 4);
    n.bits = 32;
    return n;
  }
  if (inet_pton(AF_INET6, text.c_str(), &a6) != 1) return std::nullopt;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a6.s6_addr, kMapped, sizeof kMapped) == 0) {
    n.family = AF_INET;
    std::memcpy(n.addr.data(), a6.s6_addr + 12, 4);
    n.bits = 32;
    return n;
  }
  n.family = AF_INET6;
  std::memcpy(n.addr.data(), a6.s6_addr, 16);
  n.bits = 128;
  return n;
}

Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& specs) {
  TrustedProxies out;
  for (const auto& spec : specs) {
    std::string_view s = trim_space(spec);
    size_t slash = s.find('/');
    auto net = parse_ip(s.substr(0, slash));
    if (!net) return invalid_argument("--trusted-proxy " + spec + ": not an IP address or ADDRESS/BITS");
    if (slash != std::string_view::npos) {
      std::string_view b = s.substr(slash + 1);
      int bits = -1;
      auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
      if (ec != std::errc() || end != b.data() + b.size() || bits < 0 || bits > net->bits) {
        return invalid_argument("--trusted-proxy " + spec + ": bad prefix length");
      }
      net->bits = bits;
    }
    out.nets_.push_back(*net);
  }
  return out;
}

bool TrustedProxies::contains(std::string_view ip) const {
  if (nets_.empty()) return false;
  auto a = parse_ip(trim_space(ip));
  if (!a) return false;
  for (const auto& n : nets_) {
    if (n.family == a->family && prefix_matches(n.addr, a->addr, n.bits)) return true;
  }
  return false;
}

std::string TrustedProxies::client_address(const std::string& peer,
                                           std::optional<std::string_view> forwarded_for) const {
  if (!forwarded_for || !contains(peer)) return peer;
  std::string_view rest = *forwarded_for;
  while (!rest.empty()) {
    size_t comma = rest.rfind(',');
    std::string_view hop = trim_space(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    if (!parse_ip(hop)) return peer;  // a hop we cannot read: do not guess past it
    if (!contains(hop)) {
      if (hop.front() == '[') hop = hop.substr(1, hop.size() - 2);
      return std::string(hop);
    }
  }
  return peer;  // every hop is a trusted proxy: the request started at one of them
}

std::string TrustedProxies::scheme(const std::string& peer, std::optional<std::string_view> forwarded_proto,
                                   bool tls) const {
  std::string own = tls ? "https" : "http";
  if (!forwarded_proto || !contains(peer)) return own;
  std::string_view p = trim_space(*forwarded_proto);
  if (size_t comma = p.find(','); comma != std::string_view::npos) p = trim_space(p.substr(0, comma));  // the first proxy's view
  if (p == "https" || p == "http") return std::string(p);
  return own;
}

}  // namespace stacksnap::http
