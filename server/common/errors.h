// Domain errors: absl::Status values that carry google.rpc error details.
//
// Domain and store code return these; the API layer turns them into grpc::Status with
// the details attached (see server/api/grpc_status.h). Every user mistake names the
// field it is about, so a developer can fix the call from the error alone:
//
//   return InvalidFieldError("plan.care_plan.goals[2].description",
//                            "must not be empty");
//   return NotFoundError("plan", "people/p-1/plans/crisis");
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace coplan {

// ErrorInfo.domain of every Coplan error.
inline constexpr char kErrorDomain[] = "coplan.app";

// ErrorInfo reasons clients may act on.
namespace reason {
inline constexpr char kInvalidField[] = "INVALID_FIELD";
inline constexpr char kNotFound[] = "NOT_FOUND";
inline constexpr char kAlreadyExists[] = "ALREADY_EXISTS";
inline constexpr char kEtagMismatch[] = "ETAG_MISMATCH";
inline constexpr char kEditConflict[] = "EDIT_CONFLICT";
inline constexpr char kBaseRevisionTooOld[] = "BASE_REVISION_TOO_OLD";
inline constexpr char kUnauthenticated[] = "UNAUTHENTICATED";
inline constexpr char kPermissionDenied[] = "PERMISSION_DENIED";
inline constexpr char kFailedPrecondition[] = "FAILED_PRECONDITION";
inline constexpr char kDeadlineExceeded[] = "DEADLINE_EXCEEDED";
inline constexpr char kUnavailable[] = "UNAVAILABLE";
inline constexpr char kWatchTooSlow[] = "WATCH_TOO_SLOW";
inline constexpr char kTooManyStreams[] = "TOO_MANY_STREAMS";
inline constexpr char kPublishRefused[] = "PUBLISH_REFUSED";
}  // namespace reason

struct FieldViolation {
  std::string field;        // e.g. "plan.crisis_plan.warning_signs[3].text"
  std::string description;  // e.g. "is 2,140 characters; at most 2,000 are allowed"
};

// INVALID_ARGUMENT with a BadRequest detail naming the field.
absl::Status InvalidFieldError(absl::string_view field, absl::string_view description);
// INVALID_ARGUMENT listing several fields; the message names the first.
absl::Status InvalidFieldsError(const std::vector<FieldViolation>& violations);
// NOT_FOUND for a resource the caller cannot see (absent, or no relationship).
absl::Status NotFoundError(absl::string_view kind, absl::string_view name);
absl::Status AlreadyExistsError(absl::string_view kind, absl::string_view name);
// FAILED_PRECONDITION for a stale etag.
absl::Status EtagMismatchError(absl::string_view name);
absl::Status FailedPreconditionError(absl::string_view message,
                                     absl::string_view error_reason = reason::kFailedPrecondition);
absl::Status PermissionDeniedError(absl::string_view message);
absl::Status UnauthenticatedError(absl::string_view message);

// Attaches a protobuf detail (BadRequest, PreconditionFailure, EditConflict, ...).
void AttachDetail(absl::Status& status, const google::protobuf::Message& detail);
// Attaches an ErrorInfo with this reason and metadata (replacing an earlier one).
void AttachErrorInfo(absl::Status& status, absl::string_view error_reason,
                     const std::map<std::string, std::string>& metadata = {});

// Reads a detail back (for tests and for the API layer). False if absent.
bool ReadDetail(const absl::Status& status, google::protobuf::Message& detail);

// Prefixes BadRequest field paths and the message with `prefix` (e.g. "operations[3].").
absl::Status PrefixFieldErrors(const absl::Status& status, absl::string_view prefix);

}  // namespace coplan
