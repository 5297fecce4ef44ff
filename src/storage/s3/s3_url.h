// Endpoints and request URLs, path-style and virtual-hosted-style.
#pragma once

#include <string>

#include "base/error.h"
#include "storage/s3/s3_config.h"
#include "storage/s3/sigv4.h"

namespace stacksnap::storage::s3 {

struct Endpoint {
  std::string scheme;  // "http" | "https"
  std::string host;    // "127.0.0.1", "s3.eu-central-1.amazonaws.com", "[::1]"
  int port = 0;        // 0: the scheme's default
  bool aws = false;    // an *.amazonaws.com host
  // "http://127.0.0.1:4569" — what describe() shows.
  std::string to_string() const;
};

// Parses "http(s)://host[:port][/]". Empty `url`: AWS's endpoint for `region`.
// InvalidArgument for other schemes, paths, user info or a bad port.
Result<Endpoint> parse_endpoint(const std::string& url, const std::string& region);

// kAuto → kVirtualHosted on AWS unless the bucket name has a '.', else kPath.
AddressingStyle resolve_addressing(AddressingStyle style, const Endpoint& ep, const std::string& bucket);

struct RequestTarget {
  std::string url;            // what curl requests: scheme://host[:port]/path?query
  std::string host_header;    // the Host header (signed): "host[:port]"
  std::string canonical_uri;  // the encoded path ("/bucket/a%20b")
  std::string query;          // canonical query string (also sent as is)
};

// `key` is the full object key (empty for bucket operations); it is URI-encoded with '/' kept.
RequestTarget build_target(const Endpoint& ep, AddressingStyle resolved, const std::string& bucket,
                           const std::string& key, const KeyValues& query);

// Bucket names S3 accepts (3–63 of a-z 0-9 . -, starting and ending alphanumeric); also what
// keeps the bucket from breaking a Host header or a path.
Status validate_bucket_name(const std::string& bucket);

}  // namespace stacksnap::storage::s3
