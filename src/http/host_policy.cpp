#include "http/host_policy.h"

#include <arpa/inet.h>

#include <charconv>

#include "base/text.h"
#include "http/url.h"

namespace stacksnap::http {
namespace {

constexpr size_t kMaxHostName = 253;

std::optional<uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || s.size() > 5 || ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(v);
}

bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

// "[fd00::0:5]" → "[fd00::5]"; nullopt unless an IPv6 literal in brackets.
std::optional<std::string> canonical_ipv6(std::string_view bracketed) {
  if (bracketed.size() < 3 || bracketed.front() != '[' || bracketed.back() != ']') return std::nullopt;
  std::string inner(bracketed.substr(1, bracketed.size() - 2));
  in6_addr a{};
  char buf[INET6_ADDRSTRLEN];
  if (inner.size() >= INET6_ADDRSTRLEN || inet_pton(AF_INET6, inner.c_str(), &a) != 1 ||
      inet_ntop(AF_INET6, &a, buf, sizeof buf) == nullptr) {
    return std::nullopt;
  }
  return "[" + std::string(buf) + "]";
}

uint16_t default_port(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

bool is_wildcard(std::string_view ip) { return ip.empty() || ip == "0.0.0.0" || ip == "::" || ip == "[::]"; }

}  // namespace

std::string WebOrigin::to_string() const {
  std::string out = scheme + "://" + host;
  if (port != default_port(scheme)) out += ":" + std::to_string(port);
  return out;
}

std::optional<HostHeader> parse_host_header(std::string_view value) {
  value = trim_space(value);
  if (value.empty() || value.size() > kMaxHostName + 8) return std::nullopt;
  HostHeader h;
  std::string_view rest;
  if (value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto v6 = canonical_ipv6(value.substr(0, close + 1));
    if (!v6) return std::nullopt;
    h.name = *v6;
    rest = value.substr(close + 1);
  } else {
    size_t colon = value.find(':');
    std::string name = to_lower(value.substr(0, colon));
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty() || name.size() > kMaxHostName) return std::nullopt;
    for (char c : name) {
      if (!valid_name_char(c)) return std::nullopt;
    }
    h.name = std::move(name);
    rest = colon == std::string_view::npos ? std::string_view() : value.substr(colon);
  }
  if (rest.empty()) return h;
  if (rest.front() != ':') return std::nullopt;
  h.port = parse_port(rest.substr(1));
  if (!h.port) return std::nullopt;
  return h;
}

std::optional<WebOrigin> parse_origin(std::string_view text) {
  std::string lower = to_lower(text);
  std::string_view t = lower;
  WebOrigin o;
  if (t.starts_with("https://")) {
    o.scheme = "https";
  } else if (t.starts_with("http://")) {
    o.scheme = "http";
  } else {
    return std::nullopt;
  }
  t.remove_prefix(o.scheme.size() + 3);
  if (t.ends_with("/")) t.remove_suffix(1);
  if (t.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  auto h = parse_host_header(t);
  if (!h) return std::nullopt;
  o.host = h->name;
  o.port = h->port.value_or(default_port(o.scheme));
  return o;
}

bool is_loopback_host(std::string_view name) {
  if (name == "localhost" || name.ends_with(".localhost")) return true;
  if (name.starts_with("[")) return name == "[::1]" || name.starts_with("[::ffff:127.");
  in_addr a4{};
  std::string text(name);
  return inet_pton(AF_INET, text.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

Result<HostPolicy> HostPolicy::create(const HostPolicyOptions& o) {
  HostPolicy p;
  auto add = [&p](const std::string& entry, const char* what) -> Status {
    std::string e = entry;
    in6_addr a{};
    if (e.find(':') != std::string::npos && e.front() != '[' && inet_pton(AF_INET6, e.c_str(), &a) == 1) {
      e = "[" + e + "]";  // a bare IPv6 literal
    }
    auto h = parse_host_header(e);
    if (!h || h->port) return invalid_argument(std::string(what) + " " + entry + ": not a host name or IP address");
    p.names_.insert(h->name);
    return {};
  };
  if (!o.public_url.empty()) {
    p.public_ = parse_origin(o.public_url);
    if (!p.public_) {
      return invalid_argument("--public-url " + o.public_url +
                              ": give the dashboard's address as http(s)://host[:port] (served at the root, no path)");
    }
    p.names_.insert(p.public_->host);
  }
  for (const auto& h : o.allowed_hosts) TRY(add(h, "--allowed-host"));
  if (!is_wildcard(o.listen_ip)) TRY(add(o.listen_ip, "listen address"));
  return p;
}

bool HostPolicy::allows_host(std::optional<std::string_view> host_header) const {
  if (!host_header) return false;
  auto h = parse_host_header(*host_header);
  return h && (is_loopback_host(h->name) || names_.count(h->name) > 0);
}

bool HostPolicy::allows_origin(std::optional<std::string_view> origin, std::optional<std::string_view> fetch_site,
                               std::optional<std::string_view> host_header, std::string_view scheme) const {
  if (!origin) return !fetch_site || *fetch_site == "same-origin" || *fetch_site == "none";
  auto o = parse_origin(*origin);
  if (!o) return false;  // "null" (sandboxed frames, file:) and anything malformed
  if (public_ && *o == *public_) return true;
  auto h = host_header ? parse_host_header(*host_header) : std::nullopt;
  if (!h) return false;
  WebOrigin self{.scheme = std::string(scheme), .host = h->name, .port = h->port.value_or(default_port(scheme))};
  return *o == self;
}

}  // namespace stacksnap::http
