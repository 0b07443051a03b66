// The rules of one kind of jointly edited document, beyond the field rules of the API:
// what makes a plan or a decision record valid, and which fields are computed on read.
// The document service runs them on every create, update and edit.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "coplan/v1/option_grid.pb.h"
#include "coplan/v1/people_service.pb.h"
#include "google/protobuf/message.h"
#include "server/common/resource_names.h"

namespace coplan {

// What the rules may need to know besides the document.
struct DocumentContext {
  std::optional<absl::CivilDay> subject_birth_date;
  absl::CivilDay today;
  // The grid version a decision record is made from (decision records only).
  std::shared_ptr<const coplan::v1::OptionGridVersion> grid_version;
};

class DocumentRules {
 public:
  virtual ~DocumentRules() = default;
  virtual Collection collection() const = 0;
  // "plan" or "decision record", for messages.
  virtual const char* noun() const = 0;
  // A new, empty document of this type.
  virtual std::unique_ptr<google::protobuf::Message> New() const = 0;
  virtual coplan::v1::DocumentKind KindOf(const google::protobuf::Message& document) const = 0;
  // Checks a document as it would be stored (after create, update or edit). Field paths
  // in errors are relative to the document.
  virtual absl::Status Check(const google::protobuf::Message& document,
                             const DocumentContext& context) const = 0;
  // Sets the computed, output-only fields for a reader on `today`.
  virtual void Decorate(google::protobuf::Message& document, absl::CivilDay today) const = 0;

  // A stored body (or history snapshot) decoded; INTERNAL if the bytes are not a document
  // of this type, which only damage to the database can cause.
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Decode(absl::string_view bytes) const;
};

}  // namespace coplan
