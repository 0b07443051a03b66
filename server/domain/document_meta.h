// Bookkeeping fields shared by every jointly edited resource (Plan, DecisionRecord):
// name, revision, etag, create/update time, creator, last editor, delete time, agreement.
// They are not stored in the body; they come from the document's row.
//
//   SetDocumentMeta(plan, meta);     // before returning a resource
//   StripForStorage(plan);           // before storing a body
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "coplan/v1/common.pb.h"
#include "google/protobuf/message.h"

namespace coplan {

struct DocumentMeta {
  std::string name;
  int64_t key = 0;
  int64_t revision = 0;
  absl::Time create_time;
  absl::Time update_time;
  std::string creator;      // "people/{id}"
  std::string last_editor;  // "people/{id}"
  std::optional<absl::Time> delete_time;
  coplan::v1::Agreement agreement;
};

void SetDocumentMeta(google::protobuf::Message& document, const DocumentMeta& meta);
// Clears every output-only field, the name and the etag: what remains is the body.
void StripForStorage(google::protobuf::Message& document);
// The etag of a document revision: opaque, changes with every revision.
std::string DocumentEtag(int64_t key, int64_t revision);
// The etag the client sent with the resource ("" if none).
std::string EtagOf(const google::protobuf::Message& document);

}  // namespace coplan
