// Who may do what with a person's records: the relationship rules (listed below), as
// pure functions of AccessFacts.
//
//   DocumentPermissions can = PermissionsForDocument(facts, {kind, "plans/crisis"}, now);
//   if (!can.read) return NotFoundError(...);   // same answer as a missing record
//
// - The person owns their records: everything, including sharing and the access log.
// - A clinician acts through care-team membership: read, edit, create, delete; signs off
//   as clinician.
// - A grant from the person gives the grantee read or edit on the documents or kinds it
//   names, until revoked or expired.
// Every rule is decided at the instant `now` it is given (grant and session expiry, the
// 16th birthday by the UK calendar), so tests choose the instant.
// - Proxy (guardian) access gives read or edit on all the person's documents while the
//   person is under 16 and has not refused it; from their 16th birthday only a proxy
//   access the person granted themself counts. With no birth date on record, only such
//   self-granted proxy access counts (fail closed).
// - Administrators manage people and care teams but see no records.
#pragma once

#include <optional>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "coplan/v1/common.pb.h"
#include "coplan/v1/people_service.pb.h"
#include "server/domain/access_facts.h"

namespace coplan {

enum class Relationship { kNone, kSelf, kCareTeam, kGrant, kProxy };

struct DocumentRef {
  coplan::v1::DocumentKind kind = coplan::v1::DOCUMENT_KIND_UNSPECIFIED;
  std::string grant_key;  // "plans/{id}" or "decisions/{id}", as grants name documents
  // Soft-deleted: only the person and the care team (who may undelete it) still read it;
  // to a proxy or grantee it is as if it did not exist.
  bool deleted = false;
};

struct DocumentPermissions {
  bool read = false;
  bool edit = false;
  bool remove = false;            // delete / undelete
  bool see_withholdings = false;  // the person's own "prefer not to share" list
  std::optional<coplan::v1::SignOffRole> sign_off_role;
  Relationship via = Relationship::kNone;
};

struct PersonPermissions {
  bool know_exists = false;         // any relationship at all
  bool create_documents = false;    // owner, care-team clinician, proxy with edit
  bool list_all_documents = false;  // owner, care team, active proxy (grantees see granted ones)
  bool full_profile = false;        // self, care team, administrator
  bool manage_sharing = false;      // grants and own proxy decisions: the person only
  bool manage_care_team = false;    // administrator or a clinician already in the team
  bool read_access_log = false;     // the person only
  bool set_up_proxy = false;        // administrator or care-team clinician (under-16s)
  bool decide_competence = false;   // a care-team clinician (a young person's competence)
};

// True when the caller is a known person whose session, if their token names one, is
// live at `now`.
bool CallerIsValid(const AccessFacts& facts, absl::Time now);
// True when the grant has not expired at `now`.
bool GrantActiveAt(const GrantFact& grant, absl::Time now);

DocumentPermissions PermissionsForDocument(const AccessFacts& facts, const DocumentRef& document,
                                           absl::Time now);
PersonPermissions PermissionsForPerson(const AccessFacts& facts, absl::Time now);

// The first instant after `now` at which the caller's read access to the document ends
// by the passing of time alone (a grant's expiry, the person's 16th birthday, the end of
// the caller's session), or nullopt if nothing timed ends it. A watch is checked again
// then, so that it ends at that instant rather than at the next periodic re-check.
std::optional<absl::Time> ReadAccessEndsAt(const AccessFacts& facts, const DocumentRef& document,
                                           absl::Time now);
// The same, but only by the document's own rules (a grant's expiry, the 16th birthday),
// not the session's end: what a device may show offline is bounded by this, while its
// session is renewed by refreshing.
std::optional<absl::Time> DocumentAccessEndsAt(const AccessFacts& facts,
                                               const DocumentRef& document, absl::Time now);

// What a proxy access's state follows from (see coplan.v1.ProxyState).
struct ProxyStanding {
  bool granted_by_person = false;
  bool refused = false;
  std::optional<bool> judged_competent;  // set up by staff: a care-team clinician's decision
  bool accepted = false;                 // the young person accepted it themself
};

// The state of a proxy access on `today`.
coplan::v1::ProxyState ProxyStateOn(const ProxyStanding& proxy,
                                    const std::optional<absl::CivilDay>& birth_date,
                                    absl::CivilDay today);
bool IsUnder16(const std::optional<absl::CivilDay>& birth_date, absl::CivilDay today);

}  // namespace coplan
