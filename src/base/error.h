// The one error type of StackSnap, and Result<T>.
//
// Contract: every fallible function returns Result<T> (or Status = Result<void>).
// The code says what the caller should do next (see DESIGN.md §3.2); the message
// is written for a user and grows context outward with with_context():
//   "dump postgres in shop-db-1: pg_dump exited 1: FATAL: password authentication failed"
// Exceptions from third-party libraries are caught at the adapter and turned into Errors.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace stacksnap {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong; do not retry unchanged
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // it exists and must not be overwritten
  kFailedPrecondition,  // the system is not in the state this needs (e.g. a job already runs)
  kPermissionDenied,    // authenticated but not allowed (or the OS said EACCES)
  kUnauthenticated,     // no or wrong credentials
  kUnavailable,         // transient: the call may be retried
  kDeadlineExceeded,    // a timeout elapsed
  kDataLoss,            // corruption: checksum or tag mismatch; never retried
  kCancelled,           // the operation was cancelled by the user or a signal
  kResourceExhausted,   // disk full, quota, too many
  kAborted,             // a concurrent change made the operation give up
  kUnimplemented,       // not supported (by us or by the peer)
  kInternal,            // a bug or an unexpected condition
};

std::string_view code_name(Code c);

class [[nodiscard]] Error {
 public:
  Error(Code code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code != Code::kOk);
  }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with "context: ". Returns *this for chaining.
  Error& with_context(std::string_view context) &;
  Error&& with_context(std::string_view context) &&;
  Error with_context(std::string_view context) const&;

  // "NotFound: no such container: x"
  std::string to_string() const;

 private:
  Code code_;
  std::string message_;
};

inline Error invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Error not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Error already_exists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Error failed_precondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Error permission_denied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Error unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
inline Error unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Error deadline_exceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
inline Error data_loss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Error cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
inline Error resource_exhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Error aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
inline Error unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
inline Error internal_error(std::string m) { return {Code::kInternal, std::move(m)}; }

// errno → Error, in exactly one place. `what` names the operation and its object:
// errno_error("open /var/lib/x", ENOENT) → NotFound "open /var/lib/x: No such file or directory".
Error errno_error(std::string_view what, int err);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)
  template <class U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Error> &&
             !std::is_same_v<std::decay_t<U>, Result<T>> && !std::is_same_v<std::decay_t<U>, T>)
  Result(U&& u) : v_(std::in_place_index<0>, T(std::forward<U>(u))) {}  // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error& error() & { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT(implicit)
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  void value() const { assert(ok()); }
  const Error& error() const& { assert(!ok()); return *e_; }
  Error& error() & { assert(!ok()); return *e_; }
  Error&& error() && { assert(!ok()); return std::move(*e_); }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;
inline Status ok_status() { return {}; }

namespace detail {
template <class R>
auto take_value(R&& r) {
  if constexpr (std::is_void_v<decltype(r.value())>) return;
  else return std::move(r).value();
}
}  // namespace detail

}  // namespace stacksnap

// TRY(expr): evaluate a Result; on error return the error from the enclosing
// function, else yield the value. TRY_CTX adds context to the error on the way out.
// (GNU statement expressions; g++ and clang both support them.)
#define STACKSNAP_CONCAT_(a, b) a##b
#define STACKSNAP_CONCAT(a, b) STACKSNAP_CONCAT_(a, b)

#define TRY(expr) STACKSNAP_TRY_IMPL_(expr, STACKSNAP_CONCAT(stacksnap_try_r_, __COUNTER__))
#define STACKSNAP_TRY_IMPL_(expr, var)                           \
  ({                                                             \
    auto&& var = (expr);                                         \
    if (!var.ok()) return std::move(var).error();                \
    ::stacksnap::detail::take_value(std::move(var));             \
  })

#define TRY_CTX(expr, ctx) STACKSNAP_TRY_CTX_IMPL_(expr, ctx, STACKSNAP_CONCAT(stacksnap_try_r_, __COUNTER__))
#define STACKSNAP_TRY_CTX_IMPL_(expr, ctx, var)                  \
  ({                                                             \
    auto&& var = (expr);                                         \
    if (!var.ok()) return std::move(var).error().with_context(ctx); \
    ::stacksnap::detail::take_value(std::move(var));             \
  })
