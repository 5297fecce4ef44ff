#include "docker/api_version.h"

#include <algorithm>
#include <charconv>

namespace stacksnap::docker {

Result<ApiVersion> parse_api_version(std::string_view s) {
  ApiVersion v;
  auto dot = s.find('.');
  if (dot == std::string_view::npos) return invalid_argument("bad API version \"" + std::string(s) + "\"");
  auto a = s.substr(0, dot), b = s.substr(dot + 1);
  auto r1 = std::from_chars(a.data(), a.data() + a.size(), v.major);
  auto r2 = std::from_chars(b.data(), b.data() + b.size(), v.minor);
  if (a.empty() || b.empty() || r1.ec != std::errc() || r1.ptr != a.data() + a.size() || r2.ec != std::errc() ||
      r2.ptr != b.data() + b.size()) {
    return invalid_argument("bad API version \"" + std::string(s) + "\"");
  }
  return v;
}

Result<ApiVersion> negotiate_api_version(std::string_view daemon_max, std::string_view daemon_min,
                                         std::string_view daemon_version) {
  auto max = TRY_CTX(parse_api_version(daemon_max), "Docker Engine version response");
  ApiVersion min{1, 12};  // engines before 1.25 did not report a minimum
  if (!daemon_min.empty()) min = TRY_CTX(parse_api_version(daemon_min), "Docker Engine version response");
  ApiVersion v = std::min(kMaxApiVersion, max);
  std::string engine = "Docker Engine " + std::string(daemon_version.empty() ? "" : daemon_version) +
                       (daemon_version.empty() ? "" : " ") + "(API " + min.to_string() + "–" + max.to_string() + ")";
  if (v < kMinApiVersion) {
    return failed_precondition(engine + " is too old: StackSnap needs API " + kMinApiVersion.to_string() +
                               " or newer (Docker 20.10+)");
  }
  if (v < min) {
    return failed_precondition(engine + " no longer accepts API " + v.to_string() + ", the newest StackSnap speaks");
  }
  return v;
}

bool is_version_mismatch_message(std::string_view m) {
  return m.find("client version") != std::string_view::npos &&
         (m.find("too old") != std::string_view::npos || m.find("too new") != std::string_view::npos);
}

}  // namespace stacksnap::docker
