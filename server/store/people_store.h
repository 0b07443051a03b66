// SQL for people, built-in accounts, sessions, external identities, care teams, grants
// and proxy access.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/v1/people_service.pb.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

struct AccountRow {
  std::string person_id;
  std::string username;
  std::string password_hash;
  int failed_attempts = 0;
  std::optional<absl::Time> locked_until;
  bool disabled = false;  // the person's account is disabled: nothing they present counts
};

// An identity-provider subject linked to a person.
struct IdentityRow {
  std::string id;
  std::string person_id;
  std::string issuer;
  std::string subject;
};

struct GrantRow {
  std::string id;
  std::string person_id;
  std::string grantee_id;
  std::string grantee_display_name;
  std::vector<std::string> documents;  // "plans/{id}"
  std::vector<int> document_kinds;
  int access = 0;
  std::optional<absl::Time> expire_time;
  absl::Time create_time;
  std::optional<absl::Time> revoke_time;
  // Invitations: the SHA-256 of the code (written only), when it stops working, and
  // when it was accepted. An invitation has no grantee until then.
  std::string invitation_hash;
  std::optional<absl::Time> invitation_expire_time;
  std::optional<absl::Time> accept_time;
};

struct ProxyRow {
  std::string id;
  std::string person_id;
  std::string proxy_id;
  std::string proxy_display_name;
  int access = 0;
  bool granted_by_person = false;
  absl::Time create_time;
  std::optional<absl::Time> refuse_time;
  // Set up by staff: the latest competence decision of a care-team clinician.
  std::optional<bool> judged_competent;
  std::string competence_reason;
  std::string competence_decided_by;  // person id
  std::optional<absl::Time> competence_decision_time;
  std::optional<absl::Time> accept_time;  // the young person accepted it
};

struct CareTeamRow {
  std::string clinician_id;
  std::string clinician_display_name;
  std::string role;
  absl::Time create_time;
};

// A person the caller is connected to, before the proxy age rule is applied.
struct ConnectionRow {
  std::string person_id;
  std::string display_name;
  coplan::v1::ConnectionKind kind = coplan::v1::CONNECTION_KIND_UNSPECIFIED;
  std::string birth_date;  // "YYYY-MM-DD" or ""
  bool granted_by_person = false;
  std::optional<bool> judged_competent;
  bool accepted = false;
};

class PeopleStore {
 public:
  explicit PeopleStore(Database& db);

  // People. `person` fields are stored as given (name is output only).
  absl::Status InsertPerson(WriteTransaction& tx, const std::string& id,
                            const coplan::v1::Person& person);
  std::optional<coplan::v1::Person> GetPerson(Transaction& tx, const std::string& id);
  // Disables the person's account at `when`, or enables it (nullopt). False if there is
  // no such person.
  bool SetDisabled(WriteTransaction& tx, const std::string& id, std::optional<absl::Time> when);
  // Sets the display name and NHS number ("" for none) of an existing person: NOT_FOUND
  // without one, ALREADY_EXISTS when another person has the NHS number.
  absl::Status UpdateDetails(WriteTransaction& tx, const std::string& id,
                             const std::string& display_name, const std::string& nhs_number);

  // Accounts (sessions are in session_store.h).
  absl::Status InsertAccount(WriteTransaction& tx, const std::string& person_id,
                             const std::string& username, const std::string& password_hash);
  std::optional<AccountRow> FindAccount(Transaction& tx, const std::string& username);
  // The person's built-in account, if they have one.
  std::optional<AccountRow> AccountOf(Transaction& tx, const std::string& person_id);
  // Replaces the password hash if it is still `expected_hash`; false if not.
  bool ReplacePasswordHash(WriteTransaction& tx, const std::string& person_id,
                           const std::string& expected_hash, const std::string& new_hash);
  // Counts a failed sign-in; locks the account for `lock_for` (longer for repeated locks)
  // after `max_failures` in a row, each within `lock_for` of the last.
  void RecordSignInFailure(WriteTransaction& tx, const std::string& person_id, int max_failures,
                           absl::Duration lock_for);
  void RecordSignInSuccess(WriteTransaction& tx, const std::string& person_id);

  // External identities.
  absl::Status InsertIdentity(WriteTransaction& tx, const std::string& id,
                              const std::string& person_id, const std::string& issuer,
                              const std::string& subject);
  std::optional<IdentityRow> FindIdentity(Transaction& tx, const std::string& issuer,
                                          const std::string& subject);
  std::vector<IdentityRow> ListIdentities(Transaction& tx, const std::string& person_id);
  // The link removed, if there was one.
  std::optional<IdentityRow> DeleteIdentity(WriteTransaction& tx, const std::string& person_id,
                                            const std::string& identity_id);

  // Care teams.
  absl::Status InsertCareTeamMember(WriteTransaction& tx, const std::string& person_id,
                                    const std::string& clinician_id, const std::string& role);
  std::vector<CareTeamRow> ListCareTeam(Transaction& tx, const std::string& person_id,
                                        const std::string& after_clinician, int limit);
  std::optional<CareTeamRow> DeleteCareTeamMember(WriteTransaction& tx,
                                                  const std::string& person_id,
                                                  const std::string& clinician_id);

  // Grants.
  void InsertGrant(WriteTransaction& tx, const GrantRow& grant);
  std::optional<GrantRow> GetGrant(Transaction& tx, const std::string& person_id,
                                   const std::string& grant_id);
  // By grantor (person_id) or by grantee; newest first, after the cursor (none when
  // `before_id` is empty). Unless `show_inactive`, only grants live at `now`.
  std::vector<GrantRow> ListGrants(Transaction& tx, const std::string& person_id,
                                   const std::string& grantee_id, bool show_inactive,
                                   absl::Time now, int64_t before_micros,
                                   const std::string& before_id, int limit);
  void RevokeGrant(WriteTransaction& tx, const std::string& grant_id, absl::Time when);
  // Makes `grantee_id` the grantee of the live, unaccepted invitation with this code
  // digest (not the person's own); nullopt if there is none.
  std::optional<GrantRow> AcceptInvitation(WriteTransaction& tx, const std::string& invitation_hash,
                                           const std::string& grantee_id, absl::Time now);
  // Whether `other_id` is in the person's care team, has had a grant from them, or is
  // their proxy.
  bool HasRelationship(Transaction& tx, const std::string& person_id, const std::string& other_id);
  // How many of `documents` ("plans/{id}", ...) exist for the person.
  int CountDocuments(Transaction& tx, const std::string& person_id,
                     const std::vector<std::string>& documents);

  // Proxy access.
  void InsertProxy(WriteTransaction& tx, const ProxyRow& proxy, const std::string& created_by);
  std::optional<ProxyRow> GetProxy(Transaction& tx, const std::string& person_id,
                                   const std::string& proxy_id);
  std::vector<ProxyRow> ListProxies(Transaction& tx, const std::string& person_id,
                                    int64_t before_micros, const std::string& before_id, int limit);
  // Records a care-team clinician's competence decision on a proxy set up by staff that
  // was not refused; false if there is none such.
  bool RecordCompetenceDecision(WriteTransaction& tx, const std::string& person_id,
                                const std::string& proxy_id, bool competent,
                                const std::string& reason, const std::string& decided_by,
                                absl::Time when);
  // The young person's acceptance of a proxy set up by staff, not refused or accepted
  // before; false if there is none such.
  bool AcceptProxy(WriteTransaction& tx, const std::string& person_id, const std::string& proxy_id,
                   absl::Time when);
  void RefuseProxy(WriteTransaction& tx, const std::string& proxy_id, absl::Time when);
  // True if the person refused a proxy access of `proxy_id` and has not granted that
  // proxy access themself since (staff set-ups after a refusal do not lift it).
  bool ProxyWasRefused(Transaction& tx, const std::string& person_id, const std::string& proxy_id);

  // Grants count while live at `now`.
  std::vector<ConnectionRow> ListConnections(Transaction& tx, const std::string& actor_id,
                                             absl::Time now);

 private:
  Database& db_;
};

}  // namespace coplan
