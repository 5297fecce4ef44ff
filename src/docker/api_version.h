// Engine API versions and their negotiation (engine-api-notes §1).
//
// Policy: v = min(kMaxApiVersion, daemon ApiVersion); refused when v is below the
// daemon's MinAPIVersion or below kMinApiVersion. The client renegotiates once when
// a call answers 400 "client version … is too old/too new" (daemon upgraded).
//
// Why 1.47 as our maximum: it is the newest API whose changes for every endpoint we
// use were reviewed (api CHANGELOG 1.42–1.47: additive fields only, which we parse
// defensively). 1.48+ deprecates fields of the pull progress stream and 1.52 changes
// the events framing and drops legacy fields; asking for 1.47 keeps those stable.
// Docker 25–29.x accepts 1.47 (29.0–29.2 refuse only below 1.44), Engine 20.10
// (max 1.41) gets 1.41, which is also our minimum: the oldest engine we test.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "base/error.h"

namespace stacksnap::docker {

struct ApiVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const ApiVersion&) const = default;
  std::string to_string() const { return std::to_string(major) + "." + std::to_string(minor); }
};

inline constexpr ApiVersion kMaxApiVersion{1, 47};
inline constexpr ApiVersion kMinApiVersion{1, 41};

// "1.41" → {1, 41}. InvalidArgument otherwise.
Result<ApiVersion> parse_api_version(std::string_view s);

// The version to speak, given what /version reported. FailedPrecondition when the
// ranges do not overlap, with a message naming both ranges.
Result<ApiVersion> negotiate_api_version(std::string_view daemon_max, std::string_view daemon_min,
                                         std::string_view daemon_version);

// True for the daemon's 400 "client version 1.44 is too new/too old" messages.
bool is_version_mismatch_message(std::string_view message);

}  // namespace stacksnap::docker
