#include "server/live/stored_document_feed.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"
#include "server/domain/withholding.h"
#include "server/service/document_views.h"

namespace coplan {
namespace {

// Background reads are not bound to a call: they get a deadline of their own.
absl::Time Deadline() { return absl::Now() + absl::Seconds(10); }

class StoredRevisionBatch : public RevisionBatch {
 public:
  StoredRevisionBatch(const DocumentCollection& collection, StoredDocument current,
                      DocumentPtr body, std::vector<RevisionRow> rows)
      : collection_(collection),
        rules_(collection.rules()),
        current_(std::move(current)),
        body_(std::move(body)),
        rows_(std::move(rows)) {
    for (const RevisionRow& row : rows_) {
      numbers_.push_back(row.revision.revision());
      withholdings_changed_ = withholdings_changed_ || ChangesWithholdings(row.revision);
    }
  }

  int64_t current_revision() const override { return current_.revision; }
  const std::vector<int64_t>& revisions() const override { return numbers_; }

  std::string ViewKey(const std::string& reader_name, bool see_withholdings) const override {
    if (see_withholdings) return "owner";
    return absl::StrCat("reader|", absl::StrJoin(PathsWithheldFrom(*body_, reader_name), "|"));
  }

  std::vector<v1::Revision> PresentFor(const std::string& reader_name,
                                       bool see_withholdings) const override {
    ReaderView view;
    view.see_withholdings = see_withholdings;
    if (!see_withholdings) view.withheld = PathsWithheldFrom(*body_, reader_name);
    view.current = body_.get();
    view.current_revision = current_.revision;
    std::vector<v1::Revision> out;
    for (const RevisionRow& row : rows_)
      out.push_back(PresentRevision(rules_, current_.name, row, view));
    return out;
  }

  std::optional<v1::Document> SnapshotFor(const std::string& reader_name,
                                          bool see_withholdings) const override {
    if (!withholdings_changed_ || see_withholdings) return std::nullopt;
    OpenDocument open;
    open.collection = &collection_;
    open.row = current_;
    open.withheld = PathsWithheldFrom(*body_, reader_name);
    Caller reader;
    reader.person_id = reader_name.substr(std::string("people/").size());
    reader.now = absl::Now();
    return WrapDocument(*PresentDocument(open, current_, *body_, reader));
  }

 private:
  const DocumentCollection& collection_;
  const DocumentRules& rules_;
  const StoredDocument current_;
  const DocumentPtr body_;
  const std::vector<RevisionRow> rows_;
  std::vector<int64_t> numbers_;
  bool withholdings_changed_ = false;
};

}  // namespace

absl::StatusOr<std::optional<std::unique_ptr<RevisionBatch>>> StoredDocumentFeed::ReadAfter(
    int64_t document_key, int64_t after, int limit) {
  std::optional<StoredDocument> current;
  std::vector<RevisionRow> rows;
  COPLAN_RETURN_IF_ERROR(db_.Read(Deadline(), [&](Transaction& tx) {
    // The row first: every revision up to its revision has committed and is readable.
    current = store_.LoadByKey(tx, document_key);
    if (current && current->revision > after) {
      rows = store_.ListRevisions(
          tx, document_key, after,
          static_cast<int>(std::min<int64_t>(limit, current->revision - after)));
    }
    return absl::OkStatus();
  }));
  if (!current) return std::optional<std::unique_ptr<RevisionBatch>>();
  const DocumentCollection& collection = collections_.Of(current->name.collection);
  COPLAN_ASSIGN_OR_RETURN(DocumentPtr body, collection.rules().Decode(current->body));
  return std::optional<std::unique_ptr<RevisionBatch>>(std::make_unique<StoredRevisionBatch>(
      collection, std::move(*current), std::move(body), std::move(rows)));
}

absl::StatusOr<std::map<int64_t, int64_t>> StoredDocumentFeed::LatestRevisions(
    const std::vector<int64_t>& document_keys) {
  std::map<int64_t, int64_t> latest;
  COPLAN_RETURN_IF_ERROR(db_.Read(Deadline(), [&](Transaction& tx) {
    latest = store_.LatestRevisions(tx, document_keys);
    return absl::OkStatus();
  }));
  return latest;
}

absl::StatusOr<std::optional<v1::Agreement>> StoredDocumentFeed::Agreement(int64_t document_key) {
  std::optional<StoredDocument> document;
  COPLAN_RETURN_IF_ERROR(db_.Read(Deadline(), [&](Transaction& tx) {
    document = store_.LoadByKey(tx, document_key);
    return absl::OkStatus();
  }));
  if (!document) return std::optional<v1::Agreement>();
  return std::optional<v1::Agreement>(document->agreement);
}

absl::StatusOr<ReaderChanges> StoredDocumentFeed::ChangesFor(const Caller& reader,
                                                             const DocumentName& name,
                                                             int64_t after, int limit) {
  COPLAN_ASSIGN_OR_RETURN(ChangesForReader changes,
                          documents_.ChangesFor(reader, name, after, limit));
  return ReaderChanges{std::move(changes.revisions), changes.access_ends,
                       std::move(changes.snapshot)};
}

absl::Status StoredPresenceBoard::Set(int64_t document_key, const std::string& person_id,
                                      bool present, bool editing) {
  return db_.Write(Deadline(), [&](WriteTransaction& tx) {
    store_.Set(tx, document_key, instance_id_, person_id, present, editing);
    return absl::OkStatus();
  });
}

absl::Status StoredPresenceBoard::Heartbeat() {
  return db_.Write(Deadline(), [&](WriteTransaction& tx) {
    store_.Heartbeat(tx, instance_id_);
    return absl::OkStatus();
  });
}

absl::Status StoredPresenceBoard::Clear() {
  return db_.Write(absl::Now() + absl::Seconds(5), [&](WriteTransaction& tx) {
    store_.Clear(tx, instance_id_);
    return absl::OkStatus();
  });
}

absl::StatusOr<PresentPeople> StoredPresenceBoard::Load(int64_t document_key) {
  PresentPeople people;
  COPLAN_RETURN_IF_ERROR(db_.Read(Deadline(), [&](Transaction& tx) {
    people = store_.Load(tx, document_key, stale_after_);
    return absl::OkStatus();
  }));
  return people;
}

absl::Status StoredDocumentFeed::RecordDelivered(const std::vector<StreamRead>& reads) {
  // Real time: a deadline for the database.
  return documents_.RecordStreamReads(reads, absl::Now() + absl::Seconds(10));
}

}  // namespace coplan
