#include "server/service/account_admin.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "server/common/resource_names.h"
#include "server/common/status_macros.h"
#include "server/domain/field_rules.h"
#include "server/domain/nhs_number.h"
#include "server/service/call_audit.h"

namespace coplan {
namespace {

absl::Time Micros(absl::Time time) { return MicrosToTime(TimeToMicros(time)); }

v1::ExternalIdentity ToIdentity(const IdentityRow& row) {
  v1::ExternalIdentity identity;
  identity.set_name(absl::StrCat(PersonName(row.person_id), "/externalIdentities/", row.id));
  identity.set_issuer(row.issuer);
  identity.set_subject(row.subject);
  return identity;
}

}  // namespace

AccountAdmin::AccountAdmin(Database& db, PeopleStore& people, SessionStore& sessions,
                           AccessGate& gate, AuditLog& audit)
    : db_(db), people_(people), sessions_(sessions), gate_(gate), audit_(audit) {}

absl::StatusOr<v1::Person> AccountAdmin::UpdatePerson(const Caller& caller,
                                                      const v1::UpdatePersonRequest& request) {
  CallAudit audit(audit_, caller);
  if (!request.has_person()) return InvalidFieldError("person", "is required");
  const v1::Person& changes = request.person();
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(changes.name(), "person.name"));
  if (request.update_mask().paths_size() == 0) {
    return InvalidFieldError("update_mask", "is required: \"display_name\", \"nhs_number\"");
  }
  bool set_name = false;
  bool set_nhs_number = false;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "display_name") {
      set_name = true;
    } else if (path == "nhs_number") {
      set_nhs_number = true;
    } else {
      return InvalidFieldError("update_mask", absl::StrCat("\"", path.substr(0, 100),
                                                           "\" cannot be changed here; only "
                                                           "\"display_name\" and \"nhs_number\""));
    }
  }
  // Only the fields being changed are checked (the rest of `person` is ignored).
  v1::Person checked;
  checked.set_display_name(set_name ? changes.display_name() : "unchanged");
  if (set_nhs_number) checked.set_nhs_number(changes.nhs_number());
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateFields(checked, ""), "person."));
  std::string nhs_number;
  if (set_nhs_number && !changes.nhs_number().empty()) {
    COPLAN_ASSIGN_OR_RETURN(nhs_number,
                            NormalizeNhsNumber(changes.nhs_number(), "person.nhs_number"));
  }
  std::optional<v1::Person> person;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::ForAdministrators(
        person_id, v1::AUDIT_ACTION_UPDATE, changes.name(), "only administrators change people");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, caller.person_id, entry, &audit).status());
    std::optional<v1::Person> current = people_.GetPerson(tx, person_id);
    if (!current) return NotFoundError("person", changes.name());
    COPLAN_RETURN_IF_ERROR(people_.UpdateDetails(
        tx, person_id, set_name ? changes.display_name() : current->display_name(),
        set_nhs_number ? nhs_number : current->nhs_number()));
    person = people_.GetPerson(tx, person_id);
    audit.Write(tx, person_id, v1::AUDIT_ACTION_UPDATE, changes.name());
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  return *person;
}

absl::StatusOr<v1::Person> AccountAdmin::DisableAccount(const Caller& caller,
                                                        const std::string& name) {
  return SetDisabled(caller, name, /*disable=*/true);
}

absl::StatusOr<v1::Person> AccountAdmin::EnableAccount(const Caller& caller,
                                                       const std::string& name) {
  return SetDisabled(caller, name, /*disable=*/false);
}

absl::StatusOr<v1::Person> AccountAdmin::SetDisabled(const Caller& caller, const std::string& name,
                                                     bool disable) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(name, "name"));
  const std::string resource = absl::StrCat(name, "/account");
  std::optional<v1::Person> person;
  std::vector<std::string> ended_sessions;
  std::vector<IdentityRow> identities;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    ended_sessions.clear();
    identities.clear();
    const auto action = disable ? v1::AUDIT_ACTION_REVOKE : v1::AUDIT_ACTION_GRANT;
    const auto entry = PersonEntry::ForAdministrators(
        person_id, action, resource,
        disable ? "only administrators disable accounts" : "only administrators enable accounts");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, caller.person_id, entry, &audit).status());
    if (disable && person_id == caller.person_id) {
      // The last administrator could lock everyone out of administration.
      return FailedPreconditionError(
          "an administrator cannot disable their own account; ask another administrator");
    }
    if (!people_.SetDisabled(
            tx, person_id,
            disable ? std::optional<absl::Time>(Micros(caller.now)) : std::nullopt)) {
      return NotFoundError("person", name);
    }
    if (disable) {
      ended_sessions = sessions_.RevokeAllBut(tx, person_id, "", Micros(caller.now));
      identities = people_.ListIdentities(tx, person_id);
    }
    person = people_.GetPerson(tx, person_id);
    audit.Write(tx, person_id, action, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  if (events_ != nullptr) {
    for (const std::string& session : ended_sessions) events_->SessionEnded(session);
    for (const IdentityRow& identity : identities) {
      events_->SessionEnded(IdentityCredential(identity.id));
    }
  }
  return *person;
}

absl::StatusOr<v1::ListExternalIdentitiesResponse> AccountAdmin::ListExternalIdentities(
    const Caller& caller, const std::string& parent) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(parent, "parent"));
  const std::string resource = absl::StrCat(parent, "/externalIdentities");
  v1::ListExternalIdentitiesResponse response;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    response.Clear();
    const auto entry = PersonEntry::ForAdministrators(person_id, v1::AUDIT_ACTION_READ, resource,
                                                      "only administrators list linked identities");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, caller.person_id, entry, &audit).status());
    if (!people_.GetPerson(tx, person_id)) return NotFoundError("person", parent);
    for (const IdentityRow& row : people_.ListIdentities(tx, person_id)) {
      *response.add_external_identities() = ToIdentity(row);
    }
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  COPLAN_RETURN_IF_ERROR(audit.Read(person_id, resource));
  return response;
}

absl::StatusOr<v1::ExternalIdentity> AccountAdmin::DeleteExternalIdentity(const Caller& caller,
                                                                          const std::string& name) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(name, "people/{person}/externalIdentities/{identity}", "name"));
  const std::string& person_id = parts[0];
  std::optional<IdentityRow> removed;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::ForAdministrators(person_id, v1::AUDIT_ACTION_REVOKE, name,
                                                      "only administrators unlink identities");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, caller.person_id, entry, &audit).status());
    removed = people_.DeleteIdentity(tx, person_id, parts[1]);
    if (!removed) return NotFoundError("external identity", name);
    audit.Write(tx, person_id, v1::AUDIT_ACTION_REVOKE, name);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  if (events_ != nullptr) events_->SessionEnded(IdentityCredential(removed->id));
  return ToIdentity(*removed);
}

}  // namespace coplan
