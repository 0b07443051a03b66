#include "server/service/audit_service.h"

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/resource_names.h"
#include "server/common/status_macros.h"
#include "server/domain/access_policy.h"
#include "server/service/call_audit.h"
#include "server/service/page_token.h"
#include "server/store/database.h"

namespace coplan {

AuditService::AuditService(Database& db, AuditStore& store, AccessGate& gate,
                           const PageTokens& page_tokens, AuditLog& audit)
    : db_(db), store_(store), gate_(gate), page_tokens_(page_tokens), audit_(audit) {}

absl::StatusOr<v1::ListAccessEventsResponse> AuditService::List(const Caller& caller,
                                                                AuditQuery query, int page_size,
                                                                const std::string& page_token,
                                                                const std::string& fingerprint) {
  COPLAN_ASSIGN_OR_RETURN(query.limit, PageSize(page_size, 50, 500));
  if (!page_token.empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor cursor,
                            page_tokens_.Decode(caller, page_token, fingerprint, 2));
    query.before_micros = cursor.Int(0);
    query.before_id = cursor.Int(1);
  }
  ++query.limit;
  std::vector<AuditRow> rows;
  std::map<std::string, std::string> names;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) {
    rows = store_.List(tx, query);
    std::vector<std::string> ids;
    for (const auto& row : rows) {
      if (!row.actor_id.empty()) ids.push_back(row.actor_id);
      if (!row.access_given_to.empty()) ids.push_back(row.access_given_to);
    }
    names = store_.DisplayNames(tx, ids);
    return absl::OkStatus();
  }));
  v1::ListAccessEventsResponse response;
  const bool more = static_cast<int>(rows.size()) >= query.limit;
  if (more) rows.resize(query.limit - 1);
  for (const AuditRow& row : rows) {
    auto* event = response.add_events();
    event->set_sequence(row.id);
    *event->mutable_event_time() = ToTimestamp(row.event_time);
    if (!row.actor_id.empty()) {
      event->set_actor(PersonName(row.actor_id));
      auto name = names.find(row.actor_id);
      if (name != names.end()) event->set_actor_display_name(name->second);
    }
    if (!row.on_behalf_of_id.empty()) event->set_on_behalf_of(PersonName(row.on_behalf_of_id));
    event->set_action(static_cast<v1::AuditAction>(row.action));
    event->set_resource(row.resource);
    event->set_outcome(static_cast<v1::AuditOutcome>(row.outcome));
    event->set_method(row.method);
    event->set_revision_from(row.revision_from);
    event->set_revision_to(row.revision_to);
    if (!row.access_given_to.empty()) {
      event->set_access_given_to(PersonName(row.access_given_to));
      auto name = names.find(row.access_given_to);
      if (name != names.end()) event->set_access_given_to_display_name(name->second);
    }
  }
  if (more && !rows.empty()) {
    response.set_next_page_token(page_tokens_.Encode(
        caller, {absl::StrCat(TimeToMicros(rows.back().event_time)), absl::StrCat(rows.back().id)},
        fingerprint));
  }
  return response;
}

absl::StatusOr<v1::ListAccessEventsResponse> AuditService::ListAccessEvents(
    const Caller& caller, const v1::ListAccessEventsRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  AuditQuery query;
  query.on_behalf_of_id = person_id;
  if (!request.document().empty()) {
    COPLAN_ASSIGN_OR_RETURN(DocumentName document,
                            ParseDocumentName(request.document(), "document"));
    if (document.person_id != person_id) {
      return InvalidFieldError("document", "is not a document of this person");
    }
    query.resource_prefix = request.document();
  }
  if (!request.actor().empty()) {
    COPLAN_ASSIGN_OR_RETURN(query.by_actor_id, ParsePersonName(request.actor(), "actor"));
  }
  if (request.has_start_time()) {
    COPLAN_RETURN_IF_ERROR(ValidateTimestamp(request.start_time(), "start_time"));
    query.start_micros = TimeToMicros(FromTimestamp(request.start_time()));
  }
  if (request.has_end_time()) {
    COPLAN_RETURN_IF_ERROR(ValidateTimestamp(request.end_time(), "end_time"));
    query.end_micros = TimeToMicros(FromTimestamp(request.end_time()));
  }
  if (query.end_micros <= query.start_micros) {
    return InvalidFieldError("end_time", "must be after start_time");
  }
  const std::string resource = request.parent() + "/accessEvents";
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(
        PersonNeed::kReadAccessLog, v1::AUDIT_ACTION_READ, resource, request.parent(),
        "only the person sees who accessed their records; use ListMyActions for your own actions");
    return gate_.Person(tx, caller, person_id, entry, &audit).status();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  COPLAN_RETURN_IF_ERROR(audit.Read(person_id, resource));
  const std::string fingerprint =
      absl::StrCat(request.parent(), "|", request.document(), "|", request.actor(), "|",
                   query.start_micros, "|", query.end_micros);
  return List(caller, query, request.page_size(), request.page_token(), fingerprint);
}

absl::StatusOr<v1::ListAccessEventsResponse> AuditService::ListMyActions(
    const Caller& caller, const v1::ListMyActionsRequest& request) {
  AuditQuery query;
  query.actor_id = caller.person_id;
  if (request.has_start_time()) {
    COPLAN_RETURN_IF_ERROR(ValidateTimestamp(request.start_time(), "start_time"));
    query.start_micros = TimeToMicros(FromTimestamp(request.start_time()));
  }
  if (request.has_end_time()) {
    COPLAN_RETURN_IF_ERROR(ValidateTimestamp(request.end_time(), "end_time"));
    query.end_micros = TimeToMicros(FromTimestamp(request.end_time()));
  }
  if (query.end_micros <= query.start_micros) {
    return InvalidFieldError("end_time", "must be after start_time");
  }
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    return gate_.Person(tx, caller, caller.person_id, {PersonNeed::kSignedIn}, nullptr).status();
  }));
  const std::string fingerprint =
      absl::StrCat(caller.person_id, "|", query.start_micros, "|", query.end_micros);
  return List(caller, query, request.page_size(), request.page_token(), fingerprint);
}

}  // namespace coplan
