#include "server/service/people_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"
#include "server/domain/access_policy.h"
#include "server/domain/field_rules.h"
#include "server/domain/nhs_number.h"
#include "server/service/call_audit.h"
#include "server/service/page_token.h"
#include "server/service/people_views.h"
#include "server/store/database.h"

namespace coplan {
namespace {

using v1::AUDIT_ACTION_CREATE;
using v1::AUDIT_ACTION_GRANT;
using v1::AUDIT_ACTION_READ;
using v1::AUDIT_ACTION_REVOKE;
using v1::AUDIT_ACTION_UPDATE;

absl::Status ValidateAccessLevel(v1::AccessLevel level, const std::string& field) {
  if (level != v1::ACCESS_LEVEL_READ && level != v1::ACCESS_LEVEL_EDIT) {
    return InvalidFieldError(field, "must be ACCESS_LEVEL_READ or ACCESS_LEVEL_EDIT");
  }
  return absl::OkStatus();
}

absl::Time Micros(absl::Time time) { return MicrosToTime(TimeToMicros(time)); }

// How long an invitation's code works unless the person says otherwise, and at most.
constexpr absl::Duration kDefaultInvitationLifetime = absl::Hours(24 * 7);
constexpr absl::Duration kMaxInvitationLifetime = absl::Hours(24 * 30);

}  // namespace

absl::StatusOr<std::string> NormalizeUsername(const std::string& username,
                                              const std::string& field) {
  const std::string lower = absl::AsciiStrToLower(username);
  if (lower.size() < 3 || lower.size() > 64)
    return InvalidFieldError(field, "must be 3 to 64 characters");
  for (char c : lower) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return InvalidFieldError(field, "may only hold a-z, 0-9, '.', '_' and '-'");
    }
  }
  return lower;
}

PeopleService::PeopleService(Database& db, PeopleStore& store, AccessGate& gate,
                             const PageTokens& page_tokens, AuditLog& audit, PasswordHasher& hasher)
    : db_(db),
      store_(store),
      gate_(gate),
      page_tokens_(page_tokens),
      audit_(audit),
      hasher_(hasher) {}

void PeopleService::AccessChanged(const std::string& person_id) {
  if (events_ != nullptr) events_->AccessChanged(person_id);
}

absl::StatusOr<v1::Person> PeopleService::GetPerson(const Caller& caller, const std::string& name) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(name, "name"));
  AccessFacts facts;
  std::optional<v1::Person> person;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(PersonNeed::kKnow, AUDIT_ACTION_READ, name, name, "");
    COPLAN_ASSIGN_OR_RETURN(facts, gate_.Person(tx, caller, person_id, entry, &audit));
    person = store_.GetPerson(tx, person_id);
    if (!person) return NotFoundError("person", name);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  const PersonPermissions can = PermissionsForPerson(facts, caller.now);
  COPLAN_RETURN_IF_ERROR(audit.Read(person_id, name));
  if (!can.full_profile) {
    // Carers and proxies see who the person is, not their details.
    v1::Person limited;
    limited.set_name(person->name());
    limited.set_display_name(person->display_name());
    return limited;
  }
  return *person;
}

absl::StatusOr<v1::Person> PeopleService::CreatePerson(const Caller& caller,
                                                       const v1::CreatePersonRequest& request) {
  CallAudit audit(audit_, caller);
  if (!request.has_person()) return InvalidFieldError("person", "is required");
  v1::Person person = request.person();
  ClearOutputOnlyFields(person);
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateFields(person, ""), "person."));
  std::string id = request.person_id();
  if (id.empty()) {
    id = NewResourceId();
  } else if (!IsValidClientResourceId(id) || id == "me") {
    return InvalidFieldError("person_id",
                             "must be 4 to 63 of a-z, 0-9 and '-', starting with a letter");
  }
  if (IsSet(person.birth_date()) && ToCivilDay(person.birth_date()) > caller.today()) {
    return InvalidFieldError("person.birth_date", "is in the future");
  }
  if (!person.nhs_number().empty()) {
    COPLAN_ASSIGN_OR_RETURN(*person.mutable_nhs_number(),
                            NormalizeNhsNumber(person.nhs_number(), "person.nhs_number"));
  }
  // Separation of duties: whoever administers accounts does not also see records as a
  // clinician, so no one registers themself into a care team.
  if (person.administrator() && person.clinician()) {
    return InvalidFieldError("person.clinician",
                             "an administrator cannot also be a clinician (separation of duties: "
                             "register two people)");
  }
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::ForAdministrators(id, AUDIT_ACTION_CREATE, PersonName(id),
                                                      "only administrators register people");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, caller.person_id, entry, &audit).status());
    COPLAN_RETURN_IF_ERROR(store_.InsertPerson(tx, id, person));
    audit.Write(tx, id, AUDIT_ACTION_CREATE, PersonName(id));
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  person.set_name(PersonName(id));
  *person.mutable_create_time() = ToTimestamp(caller.now);
  return person;
}

absl::StatusOr<v1::Person> PeopleService::RegisterDirectly(const v1::Person& person,
                                                           const std::string& person_id,
                                                           const std::string& username,
                                                           const std::string& password) {
  std::string hash;
  if (!username.empty()) {
    COPLAN_ASSIGN_OR_RETURN(hash, hasher_.Hash(password, absl::Now() + absl::Seconds(60)));
  }
  COPLAN_RETURN_IF_ERROR(
      db_.Write(absl::Now() + absl::Seconds(30), [&](WriteTransaction& tx) -> absl::Status {
        COPLAN_RETURN_IF_ERROR(store_.InsertPerson(tx, person_id, person));
        if (!username.empty())
          COPLAN_RETURN_IF_ERROR(store_.InsertAccount(tx, person_id, username, hash));
        audit_.RecordInTransaction(
            tx, AuditEvent{"", person_id, AUDIT_ACTION_CREATE, PersonName(person_id),
                           v1::AUDIT_OUTCOME_ALLOWED, "coplan-server/register"});
        return absl::OkStatus();
      }));
  v1::Person out = person;
  out.set_name(PersonName(person_id));
  return out;
}

absl::StatusOr<v1::Account> PeopleService::CreateAccount(const Caller& caller,
                                                         const v1::CreateAccountRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  COPLAN_ASSIGN_OR_RETURN(std::string username, NormalizeUsername(request.username(), "username"));
  const size_t password_length = CodePointCount(request.password());
  if (password_length < 12 || password_length > 256) {
    return InvalidFieldError("password", "must be 12 to 256 characters");
  }
  const std::string resource = absl::StrCat(request.parent(), "/account");
  // Only administrators may create accounts; check before spending a hash on it.
  absl::Status allowed = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const auto entry = PersonEntry::ForAdministrators(person_id, AUDIT_ACTION_CREATE, resource,
                                                      "only administrators create accounts");
    return gate_.Person(tx, caller, caller.person_id, entry, &audit).status();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(allowed));
  COPLAN_ASSIGN_OR_RETURN(std::string hash, hasher_.Hash(request.password(), caller.deadline));
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    if (!store_.GetPerson(tx, person_id)) return NotFoundError("person", request.parent());
    COPLAN_RETURN_IF_ERROR(store_.InsertAccount(tx, person_id, username, hash));
    audit.Write(tx, person_id, AUDIT_ACTION_CREATE, resource);
    return absl::OkStatus();
  }));
  v1::Account account;
  account.set_name(resource);
  account.set_username(username);
  *account.mutable_create_time() = ToTimestamp(caller.now);
  return account;
}

absl::StatusOr<v1::ExternalIdentity> PeopleService::CreateExternalIdentity(
    const Caller& caller, const v1::CreateExternalIdentityRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  v1::ExternalIdentity identity = request.external_identity();
  ClearOutputOnlyFields(identity);
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateFields(identity, ""), "external_identity."));
  const std::string id = NewResourceId();
  const std::string resource = absl::StrCat(request.parent(), "/externalIdentities/", id);
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::ForAdministrators(person_id, AUDIT_ACTION_GRANT, resource,
                                                      "only administrators link identities");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, caller.person_id, entry, &audit).status());
    if (!store_.GetPerson(tx, person_id)) return NotFoundError("person", request.parent());
    COPLAN_RETURN_IF_ERROR(
        store_.InsertIdentity(tx, id, person_id, identity.issuer(), identity.subject()));
    audit.Write(tx, person_id, AUDIT_ACTION_GRANT, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  identity.set_name(resource);
  return identity;
}

absl::StatusOr<v1::ListConnectionsResponse> PeopleService::ListConnections(
    const Caller& caller, const v1::ListConnectionsRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 50, 100));
  int64_t offset = 0;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor position,
                            page_tokens_.Decode(caller, request.page_token(), "connections", 1));
    offset = position.Int(0);
  }
  if (offset < 0) {
    return InvalidFieldError("page_token",
                             "is not a token this list gave out; start again without one");
  }
  std::vector<ConnectionRow> rows;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_RETURN_IF_ERROR(
        gate_.Person(tx, caller, caller.person_id, {PersonNeed::kSignedIn}, nullptr).status());
    rows = store_.ListConnections(tx, caller.person_id, caller.now);
    return absl::OkStatus();
  }));
  std::vector<v1::Connection> connections;
  for (const ConnectionRow& row : rows) {
    if (row.kind == v1::CONNECTION_KIND_PROXY) {
      std::optional<absl::CivilDay> birth;
      if (auto date = ParseIsoDate(row.birth_date)) birth = ToCivilDay(*date);
      const ProxyStanding standing{row.granted_by_person, /*refused=*/false, row.judged_competent,
                                   row.accepted};
      if (ProxyStateOn(standing, birth, caller.today()) != v1::PROXY_STATE_ACTIVE) {
        continue;
      }
    }
    v1::Connection connection;
    connection.set_person(PersonName(row.person_id));
    connection.set_display_name(row.display_name);
    connection.set_kind(row.kind);
    connections.push_back(std::move(connection));
  }
  // The list can shrink between pages: past its end is simply the end.
  offset = std::min<int64_t>(offset, connections.size());
  v1::ListConnectionsResponse response;
  for (int64_t i = offset; i < static_cast<int64_t>(connections.size()) && i < offset + limit;
       ++i) {
    // Each person listed sees in their access log that the caller listed them.
    const std::string& person = connections[i].person();
    COPLAN_RETURN_IF_ERROR(audit.Read(person.substr(sizeof("people/") - 1), person));
    *response.add_connections() = connections[i];
  }
  if (offset + limit < static_cast<int64_t>(connections.size())) {
    response.set_next_page_token(
        page_tokens_.Encode(caller, {absl::StrCat(offset + limit)}, "connections"));
  }
  return response;
}

absl::StatusOr<v1::CareTeamMember> PeopleService::CreateCareTeamMember(
    const Caller& caller, const v1::CreateCareTeamMemberRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  v1::CareTeamMember member = request.care_team_member();
  ClearOutputOnlyFields(member);
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateFields(member, ""), "care_team_member."));
  COPLAN_ASSIGN_OR_RETURN(std::string clinician_id,
                          ParsePersonName(member.clinician(), "care_team_member.clinician"));
  const std::string resource = absl::StrCat(request.parent(), "/careTeamMembers/", clinician_id);
  CareTeamRow row;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(
        PersonNeed::kManageCareTeam, AUDIT_ACTION_GRANT, resource, request.parent(),
        "only administrators and clinicians already in the care team can add to it");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, person_id, entry, &audit).status());
    // One answer for an unknown id and for someone who is not a clinician, so that the
    // call does not tell who is registered, or as what.
    auto clinician = store_.GetPerson(tx, clinician_id);
    if (!clinician || !clinician->clinician()) {
      return InvalidFieldError("care_team_member.clinician",
                               "is not a person registered as a clinician");
    }
    if (clinician_id == person_id) {
      return InvalidFieldError("care_team_member.clinician", "cannot be the person themself");
    }
    COPLAN_RETURN_IF_ERROR(store_.InsertCareTeamMember(tx, person_id, clinician_id, member.role()));
    row = {clinician_id, clinician->display_name(), member.role(), Micros(caller.now)};
    audit.Write(tx, person_id, AUDIT_ACTION_GRANT, resource, clinician_id);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  return ToMember(person_id, row);
}

absl::StatusOr<v1::ListCareTeamMembersResponse> PeopleService::ListCareTeamMembers(
    const Caller& caller, const v1::ListCareTeamMembersRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 50, 100));
  std::string after;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor position,
                            page_tokens_.Decode(caller, request.page_token(), request.parent(), 1));
    after = position.Text(0);
  }
  const std::string resource = request.parent() + "/careTeamMembers";
  std::vector<CareTeamRow> rows;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(PersonNeed::kListCareTeam, AUDIT_ACTION_READ, resource,
                                        request.parent(), "you cannot see this person's care team");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, person_id, entry, &audit).status());
    rows = store_.ListCareTeam(tx, person_id, after, limit + 1);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  COPLAN_RETURN_IF_ERROR(audit.Read(person_id, resource));
  v1::ListCareTeamMembersResponse response;
  const bool more = TrimToPage(rows, limit);
  for (const auto& row : rows) *response.add_care_team_members() = ToMember(person_id, row);
  if (more) {
    response.set_next_page_token(
        page_tokens_.Encode(caller, {rows.back().clinician_id}, request.parent()));
  }
  return response;
}

absl::StatusOr<v1::CareTeamMember> PeopleService::DeleteCareTeamMember(const Caller& caller,
                                                                       const std::string& name) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(name, "people/{person}/careTeamMembers/{clinician}", "name"));
  const std::string& person_id = parts[0];
  std::optional<CareTeamRow> removed;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(
        PersonNeed::kManageCareTeam, AUDIT_ACTION_REVOKE, name, name,
        "only administrators and care-team clinicians change the care team", "care team member");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, person_id, entry, &audit).status());
    removed = store_.DeleteCareTeamMember(tx, person_id, parts[1]);
    if (!removed) return NotFoundError("care team member", name);
    audit.Write(tx, person_id, AUDIT_ACTION_REVOKE, name);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  AccessChanged(person_id);
  return ToMember(person_id, *removed);
}

absl::StatusOr<v1::Grant> PeopleService::CreateGrant(const Caller& caller,
                                                     const v1::CreateGrantRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  if (!request.has_grant()) return InvalidFieldError("grant", "is required");
  v1::Grant grant = request.grant();
  ClearOutputOnlyFields(grant);
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateFields(grant, ""), "grant."));
  // No grantee: an invitation, whose code the person gives to whoever they choose.
  const bool invitation = grant.grantee().empty();
  std::string grantee_id;
  if (!invitation) {
    COPLAN_ASSIGN_OR_RETURN(grantee_id, ParsePersonName(grant.grantee(), "grant.grantee"));
  }
  COPLAN_RETURN_IF_ERROR(ValidateAccessLevel(grant.access(), "grant.access"));
  if (grant.documents().empty() && grant.document_kinds().empty()) {
    return InvalidFieldError("grant.documents", "name at least one document or document kind");
  }
  GrantRow row;
  row.id = NewResourceId();
  row.person_id = person_id;
  row.grantee_id = grantee_id;
  row.access = grant.access();
  row.create_time = Micros(caller.now);
  for (int i = 0; i < grant.documents_size(); ++i) {
    const std::string field = absl::StrCat("grant.documents[", i, "]");
    COPLAN_ASSIGN_OR_RETURN(DocumentName document, ParseDocumentName(grant.documents(i), field));
    if (document.person_id != person_id) {
      return InvalidFieldError(field, "is not a document of the person granting access");
    }
    row.documents.push_back(
        absl::StrCat(CollectionSegment(document.collection), "/", document.document_id));
  }
  for (int i = 0; i < grant.document_kinds_size(); ++i) {
    if (grant.document_kinds(i) == v1::DOCUMENT_KIND_UNSPECIFIED) {
      return InvalidFieldError(absl::StrCat("grant.document_kinds[", i, "]"), "is unspecified");
    }
    row.document_kinds.push_back(grant.document_kinds(i));
  }
  if (grant.has_expire_time()) {
    COPLAN_RETURN_IF_ERROR(ValidateTimestamp(grant.expire_time(), "grant.expire_time"));
    row.expire_time = Micros(FromTimestamp(grant.expire_time()));
    if (*row.expire_time <= caller.now) {
      return InvalidFieldError("grant.expire_time",
                               "is in the past; a grant must end in the future");
    }
  }
  std::string invitation_code;
  if (invitation) {
    absl::Time until = caller.now + kDefaultInvitationLifetime;
    if (grant.has_invitation_expire_time()) {
      COPLAN_RETURN_IF_ERROR(
          ValidateTimestamp(grant.invitation_expire_time(), "grant.invitation_expire_time"));
      until = FromTimestamp(grant.invitation_expire_time());
      if (until <= caller.now || until > caller.now + kMaxInvitationLifetime) {
        return InvalidFieldError("grant.invitation_expire_time",
                                 "must be in the future, and at most 30 days from now");
      }
    }
    row.invitation_expire_time = Micros(until);
    // 160 random bits; only the digest is kept, so the database cannot hand the code out.
    invitation_code = "cgi_" + NewRandomToken(20);
    row.invitation_hash = Sha256(invitation_code);
  } else if (grant.has_invitation_expire_time()) {
    return InvalidFieldError("grant.invitation_expire_time",
                             "is for invitations only (a grant without a grantee)");
  }
  const std::string resource = request.parent() + "/grants/" + row.id;
  std::string grantee_name;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry =
        PersonEntry::For(PersonNeed::kManageSharing, AUDIT_ACTION_GRANT, resource, request.parent(),
                         "only the person can share their records");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, person_id, entry, &audit).status());
    if (!invitation) {
      if (grantee_id == person_id) return InvalidFieldError("grant.grantee", "cannot be yourself");
      // The same answer whether or not the id exists: ids cannot be tried out.
      auto grantee = store_.HasRelationship(tx, person_id, grantee_id)
                         ? store_.GetPerson(tx, grantee_id)
                         : std::nullopt;
      if (!grantee) {
        return InvalidFieldError(
            "grant.grantee",
            "is not someone you already share with (your care team, a proxy, or someone you "
            "granted access before); leave grantee empty to get an invitation code to give them");
      }
      grantee_name = grantee->display_name();
    }
    if (!row.documents.empty() && store_.CountDocuments(tx, person_id, row.documents) !=
                                      static_cast<int>(row.documents.size())) {
      return InvalidFieldError("grant.documents", "names a document that does not exist");
    }
    store_.InsertGrant(tx, row);
    audit.Write(tx, person_id, AUDIT_ACTION_GRANT, resource, grantee_id);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  row.grantee_display_name = grantee_name;
  v1::Grant created = ToGrant(row, caller.now);
  created.set_invitation_code(invitation_code);
  return created;
}

absl::StatusOr<v1::Grant> PeopleService::AcceptGrantInvitation(
    const Caller& caller, const v1::AcceptGrantInvitationRequest& request) {
  CallAudit audit(audit_, caller);
  if (request.invitation_code().empty()) {
    return InvalidFieldError("invitation_code", "is required");
  }
  if (request.invitation_code().size() > 100) {
    return InvalidFieldError("invitation_code", "is longer than 100 characters");
  }
  std::optional<GrantRow> accepted;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    COPLAN_RETURN_IF_ERROR(
        gate_.Person(tx, caller, caller.person_id, PersonEntry{PersonNeed::kSignedIn}, &audit)
            .status());
    accepted = store_.AcceptInvitation(tx, Sha256(request.invitation_code()), caller.person_id,
                                       caller.now);
    if (!accepted) {
      // On the caller's own record: whose invitation it was is not known.
      return audit.Deny(caller.person_id, AUDIT_ACTION_GRANT, caller.person_name() + "/invitations",
                        NotFoundError("invitation",
                                      "with this code (wrong, already used, revoked, expired, "
                                      "or your own)"));
    }
    audit.Write(tx, accepted->person_id, AUDIT_ACTION_GRANT,
                absl::StrCat(PersonName(accepted->person_id), "/grants/", accepted->id),
                caller.person_id);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  return ToGrant(*accepted, caller.now);
}

absl::StatusOr<v1::ListGrantsResponse> PeopleService::ListGrants(
    const Caller& caller, const v1::ListGrantsRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 50, 100));
  std::string person_id;
  if (request.received()) {
    if (!request.parent().empty()) {
      return InvalidFieldError("parent", "must be empty when listing received grants");
    }
  } else {
    COPLAN_ASSIGN_OR_RETURN(person_id, ParsePersonName(request.parent(), "parent"));
  }
  const std::string fingerprint =
      absl::StrCat(request.parent(), "|", request.received(), "|", request.show_inactive());
  int64_t before_micros = 0;
  std::string before_id;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor position,
                            page_tokens_.Decode(caller, request.page_token(), fingerprint, 2));
    before_micros = position.Int(0);
    before_id = position.Text(1);
  }
  std::vector<GrantRow> rows;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const PersonEntry entry = request.received()
                                  ? PersonEntry{PersonNeed::kSignedIn}
                                  : PersonEntry::For(PersonNeed::kManageSharing, AUDIT_ACTION_READ,
                                                     request.parent() + "/grants", request.parent(),
                                                     "only the person sees their grants");
    COPLAN_RETURN_IF_ERROR(
        gate_.Person(tx, caller, request.received() ? caller.person_id : person_id, entry, &audit)
            .status());
    rows = store_.ListGrants(tx, request.received() ? "" : person_id,
                             request.received() ? caller.person_id : "", request.show_inactive(),
                             caller.now, before_micros, before_id, limit + 1);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  v1::ListGrantsResponse response;
  const bool more = TrimToPage(rows, limit);
  // Audited as reads: the person sees their own listing; each grantor sees that the
  // grantee looked at what was shared with them.
  if (!request.received()) {
    COPLAN_RETURN_IF_ERROR(audit.Read(person_id, request.parent() + "/grants"));
  }
  for (const auto& row : rows) {
    *response.add_grants() = ToGrant(row, caller.now);
    if (request.received()) {
      COPLAN_RETURN_IF_ERROR(audit.Read(row.person_id, response.grants().rbegin()->name()));
    }
  }
  if (more) {
    response.set_next_page_token(page_tokens_.Encode(
        caller, {absl::StrCat(TimeToMicros(rows.back().create_time)), rows.back().id},
        fingerprint));
  }
  return response;
}

absl::StatusOr<v1::Grant> PeopleService::RevokeGrant(const Caller& caller,
                                                     const std::string& name) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(name, "people/{person}/grants/{grant}", "name"));
  const std::string& person_id = parts[0];
  std::optional<GrantRow> grant;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(PersonNeed::kManageSharing, AUDIT_ACTION_REVOKE, name, name,
                                        "only the person can revoke their grants", "grant");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, person_id, entry, &audit).status());
    grant = store_.GetGrant(tx, person_id, parts[1]);
    if (!grant) return NotFoundError("grant", name);
    if (!grant->revoke_time) {
      grant->revoke_time = Micros(caller.now);
      store_.RevokeGrant(tx, grant->id, *grant->revoke_time);
      audit.Write(tx, person_id, AUDIT_ACTION_REVOKE, name);
    }
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  AccessChanged(person_id);
  return ToGrant(*grant, caller.now);
}

absl::StatusOr<v1::ProxyAccess> PeopleService::CreateProxyAccess(
    const Caller& caller, const v1::CreateProxyAccessRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  v1::ProxyAccess proxy = request.proxy_access();
  ClearOutputOnlyFields(proxy);
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateFields(proxy, ""), "proxy_access."));
  COPLAN_ASSIGN_OR_RETURN(std::string proxy_id,
                          ParsePersonName(proxy.proxy(), "proxy_access.proxy"));
  COPLAN_RETURN_IF_ERROR(ValidateAccessLevel(proxy.access(), "proxy_access.access"));
  ProxyRow row;
  row.id = NewResourceId();
  row.person_id = person_id;
  row.proxy_id = proxy_id;
  row.access = proxy.access();
  row.granted_by_person = caller.person_id == person_id;
  row.create_time = Micros(caller.now);
  const std::string resource = absl::StrCat(request.parent(), "/proxyAccesses/", row.id);
  std::optional<absl::CivilDay> birth;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const PersonEntry entry = PersonEntry::For(
        row.granted_by_person ? PersonNeed::kSelf : PersonNeed::kSetUpProxy, AUDIT_ACTION_GRANT,
        resource, request.parent(),
        "only the person, an administrator or their care team can set up proxy access");
    COPLAN_ASSIGN_OR_RETURN(AccessFacts facts, gate_.Person(tx, caller, person_id, entry, &audit));
    birth = facts.subject.birth_date;
    if (!row.granted_by_person) {
      if (!IsUnder16(facts.subject.birth_date, caller.today())) {
        return FailedPreconditionError(
            facts.subject.birth_date
                ? "the person is 16 or over: only they can give proxy access now"
                : "the person's date of birth is not on record, so proxy access can only be "
                  "given by the person themself");
      }
      if (proxy_id == caller.person_id) {
        return InvalidFieldError("proxy_access.proxy",
                                 "cannot be you: someone else must set up your proxy access");
      }
      // A young person's refusal stands until they grant access again themself.
      if (store_.ProxyWasRefused(tx, person_id, proxy_id)) {
        return FailedPreconditionError(
            "the person has refused proxy access for this proxy; only they can give it again");
      }
    }
    if (proxy_id == person_id)
      return InvalidFieldError("proxy_access.proxy", "cannot be the person themself");
    // Administrators register people and may name anyone; anyone else names only someone
    // already connected with the person, with one answer for an unknown id and a stranger,
    // so that ids cannot be tried out (a grant by invitation makes the connection).
    auto proxy_person = facts.actor.administrator || store_.HasRelationship(tx, person_id, proxy_id)
                            ? store_.GetPerson(tx, proxy_id)
                            : std::nullopt;
    if (!proxy_person) {
      return InvalidFieldError(
          "proxy_access.proxy",
          "is not someone already connected with the person (their care team, a proxy, or "
          "someone they granted access); invite them with a grant first, or ask an "
          "administrator");
    }
    row.proxy_display_name = proxy_person->display_name();
    store_.InsertProxy(tx, row, caller.person_id);
    // Shown to the person as given to the proxy, even while it waits (staff-made).
    audit.Write(tx, person_id, AUDIT_ACTION_GRANT, resource, proxy_id);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  return ToProxy(row, birth, caller.today());
}

absl::StatusOr<v1::ListProxyAccessesResponse> PeopleService::ListProxyAccesses(
    const Caller& caller, const v1::ListProxyAccessesRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 50, 100));
  int64_t before_micros = 0;
  std::string before_id;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor position,
                            page_tokens_.Decode(caller, request.page_token(), request.parent(), 2));
    before_micros = position.Int(0);
    before_id = position.Text(1);
  }
  const std::string resource = request.parent() + "/proxyAccesses";
  AccessFacts facts;
  std::vector<ProxyRow> rows;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(PersonNeed::kFullProfile, AUDIT_ACTION_READ, resource,
                                        request.parent(), "you cannot see this person's proxies");
    COPLAN_ASSIGN_OR_RETURN(facts, gate_.Person(tx, caller, person_id, entry, &audit));
    rows = store_.ListProxies(tx, person_id, before_micros, before_id, limit + 1);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  COPLAN_RETURN_IF_ERROR(audit.Read(person_id, resource));
  v1::ListProxyAccessesResponse response;
  const bool more = TrimToPage(rows, limit);
  for (const auto& row : rows) {
    *response.add_proxy_accesses() = ToProxy(row, facts.subject.birth_date, caller.today());
  }
  if (more) {
    response.set_next_page_token(page_tokens_.Encode(
        caller, {absl::StrCat(TimeToMicros(rows.back().create_time)), rows.back().id},
        request.parent()));
  }
  return response;
}

absl::StatusOr<v1::ProxyAccess> PeopleService::RefuseProxyAccess(const Caller& caller,
                                                                 const std::string& name) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(name, "people/{person}/proxyAccesses/{proxy_access}", "name"));
  const std::string& person_id = parts[0];
  std::optional<ProxyRow> proxy;
  std::optional<absl::CivilDay> birth;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry =
        PersonEntry::For(PersonNeed::kSelf, AUDIT_ACTION_REVOKE, name, name,
                         "only the young person can refuse proxy access", "proxy access");
    COPLAN_ASSIGN_OR_RETURN(AccessFacts facts, gate_.Person(tx, caller, person_id, entry, &audit));
    birth = facts.subject.birth_date;
    proxy = store_.GetProxy(tx, person_id, parts[1]);
    if (!proxy) return NotFoundError("proxy access", name);
    if (!proxy->refuse_time) {
      proxy->refuse_time = Micros(caller.now);
      store_.RefuseProxy(tx, proxy->id, *proxy->refuse_time);
      audit.Write(tx, person_id, AUDIT_ACTION_REVOKE, name);
    }
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  AccessChanged(person_id);
  return ToProxy(*proxy, birth, caller.today());
}

absl::StatusOr<v1::ProxyAccess> PeopleService::RecordCompetenceDecision(
    const Caller& caller, const v1::RecordCompetenceDecisionRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(
      std::vector<std::string> parts,
      ParseName(request.name(), "people/{person}/proxyAccesses/{proxy_access}", "name"));
  const std::string& person_id = parts[0];
  if (request.decision() != v1::COMPETENCE_DECISION_COMPETENT &&
      request.decision() != v1::COMPETENCE_DECISION_NOT_COMPETENT) {
    return InvalidFieldError("decision",
                             "must be COMPETENCE_DECISION_COMPETENT or "
                             "COMPETENCE_DECISION_NOT_COMPETENT");
  }
  const std::string reason(absl::StripAsciiWhitespace(request.reason()));
  if (reason.empty()) return InvalidFieldError("reason", "is required: say why");
  if (CodePointCount(reason) > 1000) {
    return InvalidFieldError("reason", "is longer than 1000 characters");
  }
  const bool competent = request.decision() == v1::COMPETENCE_DECISION_COMPETENT;
  std::optional<ProxyRow> proxy;
  std::optional<absl::CivilDay> birth;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(
        PersonNeed::kDecideCompetence, AUDIT_ACTION_UPDATE, request.name(), request.name(),
        "only a clinician in the young person's care team records a competence decision",
        "proxy access");
    COPLAN_ASSIGN_OR_RETURN(AccessFacts facts, gate_.Person(tx, caller, person_id, entry, &audit));
    birth = facts.subject.birth_date;
    proxy = store_.GetProxy(tx, person_id, parts[1]);
    if (!proxy) return NotFoundError("proxy access", request.name());
    if (proxy->granted_by_person) {
      return FailedPreconditionError(
          "the young person granted this proxy access themself: there is nothing to decide");
    }
    if (proxy->refuse_time) {
      return FailedPreconditionError("the young person refused this proxy access");
    }
    if (!IsUnder16(birth, caller.today())) {
      return FailedPreconditionError(
          "the person is 16 or over: only they decide about proxy access now");
    }
    store_.RecordCompetenceDecision(tx, person_id, proxy->id, competent, reason, caller.person_id,
                                    Micros(caller.now));
    const bool activates = !competent && !proxy->accept_time;
    audit.Write(tx, person_id, AUDIT_ACTION_UPDATE, request.name(),
                activates ? proxy->proxy_id : "");
    proxy = store_.GetProxy(tx, person_id, parts[1]);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  // "Competent" takes away the access a "not competent" gave: open watches must see it.
  AccessChanged(person_id);
  return ToProxy(*proxy, birth, caller.today());
}

absl::StatusOr<v1::ProxyAccess> PeopleService::AcceptProxyAccess(const Caller& caller,
                                                                 const std::string& name) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(name, "people/{person}/proxyAccesses/{proxy_access}", "name"));
  const std::string& person_id = parts[0];
  std::optional<ProxyRow> proxy;
  std::optional<absl::CivilDay> birth;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry =
        PersonEntry::For(PersonNeed::kSelf, AUDIT_ACTION_GRANT, name, name,
                         "only the young person can accept proxy access", "proxy access");
    COPLAN_ASSIGN_OR_RETURN(AccessFacts facts, gate_.Person(tx, caller, person_id, entry, &audit));
    birth = facts.subject.birth_date;
    proxy = store_.GetProxy(tx, person_id, parts[1]);
    if (!proxy) return NotFoundError("proxy access", name);
    if (proxy->refuse_time) {
      return FailedPreconditionError(
          "you refused this proxy access; to give it, grant it yourself (CreateProxyAccess)");
    }
    if (proxy->granted_by_person || proxy->accept_time) return absl::OkStatus();  // already yours
    if (!IsUnder16(birth, caller.today())) {
      return FailedPreconditionError(
          "proxy access set up by staff ended at your 16th birthday; to give it, grant it "
          "yourself (CreateProxyAccess)");
    }
    store_.AcceptProxy(tx, person_id, proxy->id, Micros(caller.now));
    audit.Write(tx, person_id, AUDIT_ACTION_GRANT, name, proxy->proxy_id);
    proxy = store_.GetProxy(tx, person_id, parts[1]);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  return ToProxy(*proxy, birth, caller.today());
}

}  // namespace coplan
