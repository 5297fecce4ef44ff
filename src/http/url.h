// Small pieces of HTTP syntax: percent-decoding, query strings, path segments, cookies.
// Pure functions, no I/O; inputs are untrusted bytes from the network.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stacksnap::http {

// Decodes %XX escapes (and '+' as space when `plus_is_space`, as in query strings).
// nullopt for a malformed escape or a decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

// Splits a request target "/a/b?x=1" into its path and query parts (query without '?').
struct Target {
  std::string_view path;
  std::string_view query;
};
Target split_target(std::string_view target);

// "/api/jobs/7/events" → {"api","jobs","7","events"}, each segment percent-decoded.
// "/" → {}. nullopt when the path does not start with '/' or has a bad escape.
// An empty segment (from "//" or a trailing '/') is kept as "".
std::optional<std::vector<std::string>> split_path(std::string_view path);

// "a=1&b=x%20y&c" → {a:1, b:"x y", c:""}. Malformed pairs are skipped; for a repeated
// key the first value wins. At most `max_pairs` pairs are read (the rest is ignored).
std::map<std::string, std::string> parse_query(std::string_view query, size_t max_pairs = 64);

// Value of cookie `name` in a Cookie header ("a=1; stacksnap_session=…"), or nullopt.
std::optional<std::string> find_cookie(std::string_view cookie_header, std::string_view name);

// ASCII lower-casing for header names.
std::string to_lower(std::string_view s);

}  // namespace stacksnap::http
