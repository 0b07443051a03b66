#include "server/service/document_views.h"

#include "absl/strings/str_cat.h"
#include "coplan/v1/plan.pb.h"
#include "server/domain/document_meta.h"
#include "server/domain/document_paths.h"
#include "server/domain/withholding.h"

namespace coplan {
namespace {

using google::protobuf::Message;

DocumentMeta MetaOf(const StoredDocument& row) {
  DocumentMeta meta;
  meta.name = FormatDocumentName(row.name);
  meta.key = row.key;
  meta.revision = row.revision;
  meta.create_time = row.create_time;
  meta.update_time = row.update_time;
  meta.creator = PersonName(row.creator_id);
  meta.last_editor = PersonName(row.last_editor_id);
  meta.delete_time = row.delete_time;
  meta.agreement = row.agreement;
  return meta;
}

DocumentPtr Presented(const OpenDocument& open, const StoredDocument& row, const Message& body,
                      const Caller& caller) {
  DocumentPtr document(body.New());
  document->CopyFrom(body);
  ApplyWithholdings(*document, caller.person_name(), /*keep_list=*/open.can.see_withholdings);
  open.rules().Decorate(*document, caller.today());
  SetDocumentMeta(*document, MetaOf(row));
  return document;
}

}  // namespace

ReaderView ReaderView::Of(const OpenDocument& open) {
  ReaderView view;
  view.see_withholdings = open.can.see_withholdings;
  view.withheld = open.withheld;
  view.current = open.body.get();
  view.current_revision = open.row.revision;
  return view;
}

DocumentPtr PresentDocument(const OpenDocument& open, const Caller& caller) {
  return Presented(open, open.row, *open.body, caller);
}

DocumentPtr PresentDocument(const OpenDocument& open, const StoredDocument& row,
                            const Message& body, const Caller& caller) {
  return Presented(open, row, body, caller);
}

DocumentPtr PresentDocumentAt(const OpenDocument& open, const StoredDocument& then,
                              const Message& then_body, const Caller& caller) {
  DocumentPtr document = Presented(open, then, then_body, caller);
  // The person's current wishes about sharing apply to old versions too.
  if (!open.can.see_withholdings) RemovePaths(*document, open.withheld);
  return document;
}

v1::Revision PresentRevision(const DocumentRules& rules, const DocumentName& name,
                             const RevisionRow& row, const ReaderView& view) {
  v1::Revision revision = row.revision;
  revision.set_name(absl::StrCat(FormatDocumentName(name), "/revisions/", revision.revision()));
  if (view.see_withholdings) return revision;
  revision.clear_operations();
  const google::protobuf::Descriptor& root = *rules.New()->GetDescriptor();
  // A position anchored to a hidden item is re-anchored from the document as the
  // operation left it; known exactly only for a one-operation batch that is the current
  // revision. Otherwise the item is shown at the end of its list.
  const bool exact = view.current != nullptr && row.revision.revision() == view.current_revision &&
                     row.revision.operations_size() == 1;
  for (const auto& op : row.revision.operations()) {
    auto visible = RedactOperation(op, root, view.withheld, /*see_withholdings=*/false,
                                   exact ? view.current : nullptr);
    if (visible) *revision.add_operations() = *visible;
  }
  revision.clear_changed_paths();
  for (const auto& path : row.revision.changed_paths()) {
    bool hidden = PathCovers("withholdings", path);
    for (const auto& w : view.withheld) hidden = hidden || PathCovers(w, path);
    if (!hidden) revision.add_changed_paths(path);
  }
  return revision;
}

bool ChangesWithholdings(const v1::Revision& revision) {
  for (const auto& path : revision.changed_paths()) {
    if (PathCovers("withholdings", path) || PathCovers(path, "withholdings")) return true;
  }
  return false;
}

v1::Document WrapDocument(const Message& message) {
  v1::Document document;
  if (message.GetDescriptor() == v1::Plan::descriptor()) {
    document.mutable_plan()->CopyFrom(message);
  } else {
    document.mutable_decision_record()->CopyFrom(message);
  }
  return document;
}

}  // namespace coplan
