#include "server/domain/document_rules.h"

#include "absl/strings/str_cat.h"

namespace coplan {

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> DocumentRules::Decode(
    absl::string_view bytes) const {
  std::unique_ptr<google::protobuf::Message> document = New();
  if (!document->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError(absl::StrCat("a stored ", noun(), " could not be decoded"));
  }
  return document;
}

}  // namespace coplan
