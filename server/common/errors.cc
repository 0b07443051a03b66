#include "server/common/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"

namespace coplan {
namespace {

std::string TypeUrl(const google::protobuf::Message& message) {
  return absl::StrCat("type.googleapis.com/", message.GetDescriptor()->full_name());
}

absl::Status WithInfo(absl::Status status, absl::string_view error_reason) {
  AttachErrorInfo(status, error_reason);
  return status;
}

}  // namespace

void AttachDetail(absl::Status& status, const google::protobuf::Message& detail) {
  if (status.ok()) return;
  status.SetPayload(TypeUrl(detail), absl::Cord(detail.SerializeAsString()));
}

void AttachErrorInfo(absl::Status& status, absl::string_view error_reason,
                     const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(error_reason));
  info.set_domain(kErrorDomain);
  for (const auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;
  AttachDetail(status, info);
}

bool ReadDetail(const absl::Status& status, google::protobuf::Message& detail) {
  auto payload = status.GetPayload(TypeUrl(detail));
  if (!payload.has_value()) return false;
  return detail.ParseFromString(std::string(*payload));
}

absl::Status InvalidFieldError(absl::string_view field, absl::string_view description) {
  return InvalidFieldsError({{std::string(field), std::string(description)}});
}

absl::Status InvalidFieldsError(const std::vector<FieldViolation>& violations) {
  google::rpc::BadRequest bad_request;
  for (const auto& v : violations) {
    auto* out = bad_request.add_field_violations();
    out->set_field(v.field);
    out->set_description(v.description);
  }
  std::string message = violations.empty() ? std::string("invalid request")
                                           : absl::StrCat(violations.front().field, ": ",
                                                          violations.front().description);
  if (violations.size() > 1) {
    absl::StrAppend(&message, " (and ", violations.size() - 1, " more)");
  }
  absl::Status status = absl::InvalidArgumentError(message);
  AttachDetail(status, bad_request);
  AttachErrorInfo(status, reason::kInvalidField,
                  {{"field", violations.empty() ? "" : violations.front().field}});
  return status;
}

absl::Status NotFoundError(absl::string_view kind, absl::string_view name) {
  google::rpc::ResourceInfo info;
  info.set_resource_type(std::string(kind));
  info.set_resource_name(std::string(name));
  absl::Status status = absl::NotFoundError(absl::StrCat(kind, " not found: ", name));
  AttachDetail(status, info);
  AttachErrorInfo(status, reason::kNotFound);
  return status;
}

absl::Status AlreadyExistsError(absl::string_view kind, absl::string_view name) {
  absl::Status status = absl::AlreadyExistsError(absl::StrCat(kind, " already exists: ", name));
  AttachErrorInfo(status, reason::kAlreadyExists);
  return status;
}

absl::Status EtagMismatchError(absl::string_view name) {
  absl::Status status = absl::FailedPreconditionError(
      absl::StrCat("etag does not match: ", name,
                   " has changed since it was read; read it again and reapply the change"));
  google::rpc::PreconditionFailure failure;
  auto* violation = failure.add_violations();
  violation->set_type("ETAG");
  violation->set_subject(std::string(name));
  violation->set_description("the etag sent is not the resource's current etag");
  AttachDetail(status, failure);
  AttachErrorInfo(status, reason::kEtagMismatch);
  return status;
}

absl::Status FailedPreconditionError(absl::string_view message, absl::string_view error_reason) {
  return WithInfo(absl::FailedPreconditionError(message), error_reason);
}

absl::Status PermissionDeniedError(absl::string_view message) {
  return WithInfo(absl::PermissionDeniedError(message), reason::kPermissionDenied);
}

absl::Status UnauthenticatedError(absl::string_view message) {
  return WithInfo(absl::UnauthenticatedError(message), reason::kUnauthenticated);
}

absl::Status PrefixFieldErrors(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(prefix, status.message()));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  google::rpc::BadRequest bad_request;
  if (ReadDetail(status, bad_request)) {
    for (auto& v : *bad_request.mutable_field_violations()) {
      v.set_field(absl::StrCat(prefix, v.field()));
    }
    AttachDetail(out, bad_request);
    google::rpc::ErrorInfo info;
    if (ReadDetail(status, info) && info.metadata().count("field")) {
      (*info.mutable_metadata())["field"] = absl::StrCat(prefix, info.metadata().at("field"));
      AttachDetail(out, info);
    }
  }
  return out;
}

}  // namespace coplan
