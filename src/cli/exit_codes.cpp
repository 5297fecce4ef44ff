#include "cli/exit_codes.h"

namespace stacksnap::cli {

int exit_code_for(Code code) {
  switch (code) {
    case Code::kOk: return kExitOk;
    case Code::kInvalidArgument:
    case Code::kNotFound: return kExitUsage;
    case Code::kDataLoss: return kExitDataLoss;
    case Code::kUnauthenticated:
    case Code::kPermissionDenied: return kExitAuth;
    case Code::kFailedPrecondition:
    case Code::kAlreadyExists:
    case Code::kAborted: return kExitConflict;
    case Code::kCancelled: return kExitCancelled;
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kResourceExhausted:
    case Code::kUnimplemented:
    case Code::kInternal: return kExitFailure;
  }
  return kExitFailure;
}

}  // namespace stacksnap::cli
