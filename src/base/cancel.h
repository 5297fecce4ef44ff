// Cancellation: long operations take a StopToken and check it between chunks.
#pragma once

#include <stop_token>

#include "base/error.h"

namespace stacksnap {

using StopToken = std::stop_token;
using StopSource = std::stop_source;

// Cancelled("<what> cancelled") when a stop was requested.
inline Status check_cancel(const StopToken& t, std::string_view what = "operation") {
  if (t.stop_requested()) return cancelled(std::string(what) + " cancelled");
  return {};
}

}  // namespace stacksnap
