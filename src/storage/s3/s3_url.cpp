#include "storage/s3/s3_url.h"

#include <charconv>

namespace stacksnap::storage::s3 {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

int default_port(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

std::string host_port(const Endpoint& ep, std::string_view host) {
  std::string out(host);
  if (ep.port != 0 && ep.port != default_port(ep.scheme)) out += ":" + std::to_string(ep.port);
  return out;
}

}  // namespace

std::string Endpoint::to_string() const { return scheme + "://" + host_port(*this, host); }

Result<Endpoint> parse_endpoint(const std::string& url, const std::string& region) {
  Endpoint ep;
  if (url.empty()) {
    ep.scheme = "https";
    ep.host = "s3." + region + ".amazonaws.com";
    ep.aws = true;
    return ep;
  }
  auto bad = [&](std::string_view why) { return invalid_argument("bad S3 endpoint '" + url + "': " + std::string(why)); };
  size_t sep = url.find("://");
  if (sep == std::string::npos) return bad("expected http://host[:port] or https://host[:port]");
  ep.scheme = url.substr(0, sep);
  for (auto& c : ep.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ep.scheme != "http" && ep.scheme != "https") return bad("scheme must be http or https");
  std::string rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    if (rest.find_first_not_of('/', slash) != std::string::npos) return bad("a path is not supported; use the prefix");
    rest.resize(slash);
  }
  if (rest.find('@') != std::string::npos) return bad("credentials do not belong in the URL");
  if (rest.find_first_of("?#") != std::string::npos) return bad("no query or fragment allowed");
  std::string port_text;
  if (!rest.empty() && rest[0] == '[') {  // IPv6 literal
    size_t close = rest.find(']');
    if (close == std::string::npos) return bad("unterminated IPv6 address");
    ep.host = rest.substr(0, close + 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return bad("garbage after the IPv6 address");
      port_text = rest.substr(close + 2);
    }
  } else {
    size_t colon = rest.rfind(':');
    ep.host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (ep.host.empty()) return bad("no host");
  for (auto& c : ep.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!port_text.empty()) {
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), ep.port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || ep.port <= 0 || ep.port > 65535) {
      return bad("bad port");
    }
  }
  ep.aws = ends_with(ep.host, ".amazonaws.com");
  return ep;
}

AddressingStyle resolve_addressing(AddressingStyle style, const Endpoint& ep, const std::string& bucket) {
  if (style != AddressingStyle::kAuto) return style;
  return ep.aws && bucket.find('.') == std::string::npos ? AddressingStyle::kVirtualHosted : AddressingStyle::kPath;
}

RequestTarget build_target(const Endpoint& ep, AddressingStyle resolved, const std::string& bucket,
                           const std::string& key, const KeyValues& query) {
  RequestTarget t;
  std::string encoded_key = uri_encode(key, EncodeSlash::kNo);
  if (resolved == AddressingStyle::kVirtualHosted) {
    t.host_header = host_port(ep, bucket + "." + ep.host);
    t.canonical_uri = "/" + encoded_key;
  } else {
    t.host_header = host_port(ep, ep.host);
    t.canonical_uri = "/" + uri_encode(bucket, EncodeSlash::kYes);
    if (!key.empty()) t.canonical_uri += "/" + encoded_key;
  }
  t.query = canonical_query(query);
  t.url = ep.scheme + "://" + t.host_header + t.canonical_uri;
  if (!t.query.empty()) t.url += "?" + t.query;
  return t;
}

Status validate_bucket_name(const std::string& b) {
  auto bad = [&](std::string_view why) { return invalid_argument("bad S3 bucket name '" + b + "': " + std::string(why)); };
  if (b.size() < 3 || b.size() > 63) return bad("must be 3 to 63 characters long");
  for (char c : b) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-' || c == '_')) {
      return bad("only lower-case letters, digits, '.', '-' (and '_' on some servers) are allowed");
    }
  }
  if (!std::isalnum(static_cast<unsigned char>(b.front())) || !std::isalnum(static_cast<unsigned char>(b.back()))) {
    return bad("must start and end with a letter or digit");
  }
  return {};
}

}  // namespace stacksnap::storage::s3
