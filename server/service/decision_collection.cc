#include "server/service/decision_collection.h"

#include "coplan/v1/decision.pb.h"
#include "server/common/errors.h"
#include "server/service/option_grid_service.h"

namespace coplan {

absl::Status DecisionCollection::LoadContext(Transaction& tx,
                                             const google::protobuf::Message& document,
                                             DocumentContext* context) const {
  const auto& record = static_cast<const v1::DecisionRecord&>(document);
  if (record.option_grid_version().empty()) {
    return InvalidFieldError("option_grid_version", "is required");
  }
  auto version = LoadPublishedVersion(grids_, tx, record.option_grid_version(), context->today);
  if (!version.ok()) {
    if (version.status().code() == absl::StatusCode::kNotFound) {
      return InvalidFieldError("option_grid_version", "is not a published option grid version");
    }
    return PrefixFieldErrors(version.status(), "option_grid_version: ");
  }
  context->grid_version = std::make_shared<const v1::OptionGridVersion>(std::move(version).value());
  return absl::OkStatus();
}

void DecisionCollection::OnStored(WriteTransaction& tx, const StoredDocument& row,
                                  const google::protobuf::Message& body) const {
  decisions_.SaveSummary(tx, row.key, row.name.person_id,
                         static_cast<const v1::DecisionRecord&>(body), row.delete_time.has_value());
}

}  // namespace coplan
