#include "http/status.h"

namespace stacksnap::http {

int http_status_for(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
    case Code::kAborted:
    case Code::kCancelled: return 409;
    case Code::kResourceExhausted: return 429;
    case Code::kDataLoss:
    case Code::kInternal: return 500;
    case Code::kUnimplemented: return 501;
    case Code::kUnavailable: return 503;
    case Code::kDeadlineExceeded: return 504;
  }
  return 500;
}

}  // namespace stacksnap::http
