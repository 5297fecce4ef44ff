// Error code → HTTP status: the one table (documented in docs/API.md, "Errors").
//
// Choices where HTTP has no exact twin:
//  - ResourceExhausted → 429: "too many / no room right now; back off and retry later"
//    (login rate limit, too many tokens, disk full). The body's code and message say which.
//  - Cancelled → 409: the operation stopped because of a conflicting state change (a user
//    or a shutdown cancelled it); the request itself was well-formed.
//  - DataLoss → 500: stored data failed authentication or a checksum; not the request's
//    fault and not retryable. The body's code "DataLoss" tells it apart from Internal.
#pragma once

#include "base/error.h"

namespace stacksnap::http {

// 200 for kOk; every other code maps to one 4xx/5xx status.
int http_status_for(Code code);

}  // namespace stacksnap::http
