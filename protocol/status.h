// Status and Result<T>: expected failures as values.
//
// Everything that can fail for a reason outside the program's control (bad client
// input, a peer speaking another protocol version, SQLITE_BUSY, a site refusing a
// job) returns a Status or a Result<T>. The message names what was wrong and where;
// `field()` names the offending input field when there is one, so an ERROR reply or a
// REST error can point at it.
//
//   Result<JobSpec> spec = parseJobSpec(json);
//   if (!spec.ok()) return spec.status();   // propagates code, message and field
//   use(*spec);
//
// The same with the propagation macros at the end of this header:
//
//   ASSIGN_OR_RETURN(JobSpec spec, parseJobSpec(json));
//   RETURN_IF_ERROR(store.save(spec));
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace aifed {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // the caller's input is wrong; retrying unchanged will fail again
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // a create of something that exists
  kFailedPrecondition,  // valid input, but the system is not in a state to accept it
  kUnauthenticated,     // who is asking is not known
  kPermissionDenied,    // who is asking may not do this
  kVersionMismatch,     // peer speaks a protocol major version we do not
  kUnavailable,         // transient: retry later (peer down, database busy)
  kInternal,            // a bug or broken environment
};

std::string_view statusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The input field the error is about ("body.spec.nodes"), or empty.
  const std::string& field() const { return field_; }

  // "invalid_argument: body.nodes: must be at least 1"
  std::string toString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string field_;
};

inline Status invalidArgument(std::string message, std::string field = {}) {
  return Status(StatusCode::kInvalidArgument, std::move(message), std::move(field));
}
inline Status notFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status failedPrecondition(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}
inline Status unavailable(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}
inline Status internalError(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {
    // A Result holding an OK status but no value would be a lie to every caller.
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace aifed

// Returns from the enclosing function (which returns Status or some Result<T>) with the
// Status `expr` evaluates to, unless it is OK.
//   RETURN_IF_ERROR(table.integer("nodes", p.nodes));
#define RETURN_IF_ERROR(expr)                                          \
  do {                                                                 \
    if (::aifed::Status aifed_status_ = (expr); !aifed_status_.ok()) { \
      return aifed_status_;                                            \
    }                                                                  \
  } while (false)

// Evaluates `expr` (a Result<T>); returns its Status from the enclosing function when it
// failed, else moves the value into `lhs`, a declaration or an existing variable:
//   ASSIGN_OR_RETURN(std::string text, common::readFile(path));
//   ASSIGN_OR_RETURN(cfg.partitions, readPartitions(table));
// It expands to several statements: give it braces of its own after an `if`. A `lhs`
// whose type has a comma needs an alias first (`using Pair = std::pair<A, B>;`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  AIFED_ASSIGN_OR_RETURN_IMPL_(AIFED_STATUS_CONCAT_(aifed_result_, __LINE__), lhs, expr)

#define AIFED_STATUS_CONCAT_INNER_(a, b) a##b
#define AIFED_STATUS_CONCAT_(a, b) AIFED_STATUS_CONCAT_INNER_(a, b)
#define AIFED_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                 \
  if (!result.ok()) return result.status();             \
  lhs = std::move(result).value()
