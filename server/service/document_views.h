// How a reader sees a jointly edited document and its history: what the person withholds
// from them removed (today's wishes apply to old versions too), the computed fields set
// for today, the bookkeeping fields filled from the row.
//
//   DocumentPtr plan = PresentDocument(open, caller);                    // as it is now
//   DocumentPtr then = PresentDocumentAt(open, row_then, *body_then, caller);  // an old state
//   v1::Revision change = PresentRevision(open.rules(), name, row, ReaderView::Of(open));
#pragma once

#include <string>
#include <vector>

#include "coplan/v1/editing.pb.h"
#include "coplan/v1/editing_service.pb.h"
#include "google/protobuf/message.h"
#include "server/service/access_gate.h"
#include "server/service/caller.h"
#include "server/store/document_store.h"

namespace coplan {

// What one reader may see of a document's history, taken from the document as it is now.
struct ReaderView {
  bool see_withholdings = false;
  std::vector<std::string> withheld;
  // The document now and its revision: positions anchored to hidden items are
  // re-anchored from it when that is exact (see RedactOperation).
  const google::protobuf::Message* current = nullptr;
  int64_t current_revision = 0;

  static ReaderView Of(const OpenDocument& open);
};

// The document as the caller may read it now.
DocumentPtr PresentDocument(const OpenDocument& open, const Caller& caller);
// The state this call left it in (`row` with `body`), as the caller may read it.
DocumentPtr PresentDocument(const OpenDocument& open, const StoredDocument& row,
                            const google::protobuf::Message& body, const Caller& caller);
// An earlier state (`then`, with its body decoded) as the caller may read it now.
DocumentPtr PresentDocumentAt(const OpenDocument& open, const StoredDocument& then,
                              const google::protobuf::Message& then_body, const Caller& caller);
// A revision of the history as a reader may see it.
coplan::v1::Revision PresentRevision(const DocumentRules& rules, const DocumentName& name,
                                     const RevisionRow& row, const ReaderView& view);

// True when the revision changed the person's list of withholdings (so what a reader
// other than the person may see has changed in ways its redacted form does not show).
bool ChangesWithholdings(const coplan::v1::Revision& revision);

// A plan or decision record in the Document wrapper of watch events and edit answers.
coplan::v1::Document WrapDocument(const google::protobuf::Message& document);

}  // namespace coplan
