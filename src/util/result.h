// Error and Result<T>: how every fallible strata call reports failure.
// A closed set of codes (mapped to exit codes in cli/, HTTP statuses in api/)
// plus a message that gains context on the way up.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace strata {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kConflict,
  kFailedPrecondition,
  kUnauthenticated,
  kDenied,
  kUnavailable,
  kDataLoss,
  kUnimplemented,
  kCancelled,
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Returns a copy whose message is "context: message", same code.
  Error Wrap(std::string_view context) const {
    return Error{code, std::string(context) + ": " + message};
  }
  bool operator==(const Error&) const = default;
};

inline Error InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
inline Error Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
inline Error FailedPrecondition(std::string m) {
  return {ErrorCode::kFailedPrecondition, std::move(m)};
}
inline Error DataLoss(std::string m) { return {ErrorCode::kDataLoss, std::move(m)}; }
inline Error Unimplemented(std::string m) { return {ErrorCode::kUnimplemented, std::move(m)}; }
inline Error Cancelled(std::string m) { return {ErrorCode::kCancelled, std::move(m)}; }
inline Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
inline Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }

// Error from errno: "what: strerror(errno)", code chosen from errno.
Error ErrnoError(std::string_view what, int err);
Error ErrnoError(std::string_view what);

// Result<T> holds a T or an Error; the members follow std::expected so the
// type can become an alias once the toolchain has <expected>.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result<T>>)
      Result(U&& u)
      : v_(std::in_place_index<0>, T(std::forward<U>(u))) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }
  T value_or(T other) const& { return has_value() ? value() : std::move(other); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { assert(ok_); }
  const Error& error() const& {
    assert(!ok_);
    return err_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(err_);
  }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;
inline Status Ok() { return {}; }

}  // namespace strata

#define STRATA_CONCAT_INNER_(a, b) a##b
#define STRATA_CONCAT_(a, b) STRATA_CONCAT_INNER_(a, b)

// STRATA_TRY(expr): return the error of a Status/Result expression.
#define STRATA_TRY(expr)                                         \
  do {                                                           \
    auto&& strata_try_r_ = (expr);                               \
    if (!strata_try_r_) return std::move(strata_try_r_).error(); \
  } while (0)

// STRATA_TRY_CTX(expr, context): like STRATA_TRY, wrapping with context.
#define STRATA_TRY_CTX(expr, ctx)                                          \
  do {                                                                     \
    auto&& strata_try_r_ = (expr);                                         \
    if (!strata_try_r_) return std::move(strata_try_r_).error().Wrap(ctx); \
  } while (0)

// STRATA_ASSIGN_OR_RETURN(lhs, expr): `lhs = *expr` or return its error.
#define STRATA_ASSIGN_OR_RETURN(lhs, expr) \
  STRATA_ASSIGN_OR_RETURN_IMPL_(STRATA_CONCAT_(strata_r_, __LINE__), lhs, expr)
#define STRATA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) return std::move(tmp).error();            \
  lhs = std::move(tmp).value()
