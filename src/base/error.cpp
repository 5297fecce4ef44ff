#include "base/error.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace stacksnap {

std::string_view code_name(Code c) {
  switch (c) {
    case Code::kOk: return "Ok";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kFailedPrecondition: return "FailedPrecondition";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kUnavailable: return "Unavailable";
    case Code::kDeadlineExceeded: return "DeadlineExceeded";
    case Code::kDataLoss: return "DataLoss";
    case Code::kCancelled: return "Cancelled";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kAborted: return "Aborted";
    case Code::kUnimplemented: return "Unimplemented";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

Error& Error::with_context(std::string_view context) & {
  if (!context.empty()) message_ = std::string(context) + ": " + message_;
  return *this;
}
Error&& Error::with_context(std::string_view context) && {
  if (!context.empty()) message_ = std::string(context) + ": " + message_;
  return std::move(*this);
}

Error Error::with_context(std::string_view context) const& {
  Error copy = *this;
  copy.with_context(context);
  return copy;
}

std::string Error::to_string() const {
  return std::string(code_name(code_)) + ": " + message_;
}

Error errno_error(std::string_view what, int err) {
  std::string msg = std::string(what) + ": " + std::strerror(err);
  Code code = Code::kInternal;
  switch (err) {
    case ENOENT: case ENOTDIR: code = Code::kNotFound; break;
    case EEXIST: case ENOTEMPTY: code = Code::kAlreadyExists; break;
    case EACCES: case EPERM: case EROFS: code = Code::kPermissionDenied; break;
    case ENOSPC: case EDQUOT: case EMFILE: case ENFILE: case ENOMEM: code = Code::kResourceExhausted; break;
    case EINVAL: case ENAMETOOLONG: case EISDIR: case ELOOP: code = Code::kInvalidArgument; break;
    case ECONNREFUSED: case ECONNRESET: case EPIPE: case EAGAIN: case ETIMEDOUT: case EHOSTUNREACH:
    case ENETUNREACH: case EINTR: case ECONNABORTED: code = Code::kUnavailable; break;
    case ECANCELED: code = Code::kCancelled; break;
    default: break;
  }
  return Error(code, std::move(msg));
}

}  // namespace stacksnap
