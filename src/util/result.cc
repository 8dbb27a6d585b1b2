#include "util/result.h"

#include <cerrno>
#include <cstring>

namespace strata {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kFailedPrecondition: return "failed precondition";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kDenied: return "denied";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDataLoss: return "data loss";
    case ErrorCode::kUnimplemented: return "unimplemented";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

Error ErrnoError(std::string_view what, int err) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ENOENT: code = ErrorCode::kNotFound; break;
    case EEXIST: code = ErrorCode::kAlreadyExists; break;
    case EACCES:
    case EPERM: code = ErrorCode::kDenied; break;
    case EINVAL: code = ErrorCode::kInvalidArgument; break;
    case EINTR: code = ErrorCode::kCancelled; break;
    default: break;
  }
  return Error{code, std::string(what) + ": " + std::strerror(err)};
}

Error ErrnoError(std::string_view what) { return ErrnoError(what, errno); }

}  // namespace strata
