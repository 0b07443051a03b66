#include "server/domain/access_policy.h"

#include <algorithm>
#include <vector>

#include "server/common/proto_time.h"

namespace coplan {
namespace {

using v1::ACCESS_LEVEL_EDIT;
using v1::ACCESS_LEVEL_READ;

bool GrantCovers(const GrantFact& grant, const DocumentRef& document) {
  if (std::find(grant.documents.begin(), grant.documents.end(), document.grant_key) !=
      grant.documents.end()) {
    return true;
  }
  return std::find(grant.document_kinds.begin(), grant.document_kinds.end(),
                   static_cast<int>(document.kind)) != grant.document_kinds.end();
}

// The strongest access level an active proxy gives, or 0.
int ActiveProxyLevel(const SubjectFacts& subject, absl::CivilDay today) {
  int level = 0;
  for (const ProxyFact& proxy : subject.proxies) {
    const ProxyStanding standing{proxy.granted_by_person, /*refused=*/false, proxy.judged_competent,
                                 proxy.accepted};
    if (ProxyStateOn(standing, subject.birth_date, today) == v1::PROXY_STATE_ACTIVE) {
      level = std::max(level, proxy.access);
    }
  }
  return level;
}

bool InCareTeam(const AccessFacts& facts) {
  return facts.subject.in_care_team && facts.actor.clinician;
}

}  // namespace

bool CallerIsValid(const AccessFacts& facts, absl::Time now) {
  if (!facts.actor.exists || facts.actor.disabled) return false;
  if (!facts.actor.session_needed) return true;
  return facts.actor.session_expire_time.has_value() && *facts.actor.session_expire_time > now;
}

bool GrantActiveAt(const GrantFact& grant, absl::Time now) {
  return !grant.expire_time.has_value() || *grant.expire_time > now;
}

bool IsUnder16(const std::optional<absl::CivilDay>& birth_date, absl::CivilDay today) {
  return birth_date.has_value() && AgeOn(*birth_date, today) < 16;
}

v1::ProxyState ProxyStateOn(const ProxyStanding& proxy,
                            const std::optional<absl::CivilDay>& birth_date, absl::CivilDay today) {
  if (proxy.refused) return v1::PROXY_STATE_REFUSED;
  if (proxy.granted_by_person) return v1::PROXY_STATE_ACTIVE;
  // Set up by someone else: valid only for a known under-16 ...
  if (!IsUnder16(birth_date, today)) return v1::PROXY_STATE_SUSPENDED_AT_16;
  // ... who accepted it, or whom a care-team clinician judged not competent to decide.
  if (proxy.accepted) return v1::PROXY_STATE_ACTIVE;
  if (!proxy.judged_competent.has_value()) return v1::PROXY_STATE_AWAITING_COMPETENCE_DECISION;
  return *proxy.judged_competent ? v1::PROXY_STATE_AWAITING_ACCEPTANCE : v1::PROXY_STATE_ACTIVE;
}

DocumentPermissions PermissionsForDocument(const AccessFacts& facts, const DocumentRef& document,
                                           absl::Time now) {
  DocumentPermissions can;
  if (!CallerIsValid(facts, now) || !facts.subject.exists) return can;
  const absl::CivilDay today = TodayInUk(now);
  if (facts.is_self()) {
    can.read = can.edit = can.remove = can.see_withholdings = true;
    can.sign_off_role = v1::SIGN_OFF_ROLE_SERVICE_USER;
    can.via = Relationship::kSelf;
    return can;
  }
  if (InCareTeam(facts)) {
    can.read = can.edit = can.remove = true;
    can.sign_off_role = v1::SIGN_OFF_ROLE_CLINICIAN;
    can.via = Relationship::kCareTeam;
    return can;
  }
  if (document.deleted) return can;
  int level = ActiveProxyLevel(facts.subject, today);
  if (level > 0) can.via = Relationship::kProxy;
  for (const GrantFact& grant : facts.subject.grants) {
    if (!GrantActiveAt(grant, now) || !GrantCovers(grant, document)) continue;
    if (grant.access > level) can.via = Relationship::kGrant;
    level = std::max(level, grant.access);
  }
  can.read = level >= ACCESS_LEVEL_READ;
  can.edit = level >= ACCESS_LEVEL_EDIT;
  if (!can.read) can.via = Relationship::kNone;
  return can;
}

std::optional<absl::Time> ReadAccessEndsAt(const AccessFacts& facts, const DocumentRef& document,
                                           absl::Time now) {
  if (!PermissionsForDocument(facts, document, now).read) return now;
  // Every instant at which some timed fact changes; the first at which reading stops.
  std::vector<absl::Time> changes;
  if (facts.actor.session_expire_time) changes.push_back(*facts.actor.session_expire_time);
  for (const GrantFact& grant : facts.subject.grants) {
    if (grant.expire_time) changes.push_back(*grant.expire_time);
  }
  if (facts.subject.birth_date && !facts.subject.proxies.empty()) {
    const absl::CivilDay birth = *facts.subject.birth_date;
    changes.push_back(StartOfUkDay(absl::CivilDay(birth.year() + 16, birth.month(), birth.day())));
  }
  std::sort(changes.begin(), changes.end());
  for (absl::Time change : changes) {
    if (change > now && !PermissionsForDocument(facts, document, change).read) return change;
  }
  return std::nullopt;
}

std::optional<absl::Time> DocumentAccessEndsAt(const AccessFacts& facts,
                                               const DocumentRef& document, absl::Time now) {
  AccessFacts lasting = facts;
  lasting.actor.session_needed = false;  // as if the session never ended
  lasting.actor.session_expire_time.reset();
  return ReadAccessEndsAt(lasting, document, now);
}

PersonPermissions PermissionsForPerson(const AccessFacts& facts, absl::Time now) {
  PersonPermissions can;
  if (!CallerIsValid(facts, now) || !facts.subject.exists) return can;
  const bool self = facts.is_self();
  const bool care_team = InCareTeam(facts);
  const int proxy = ActiveProxyLevel(facts.subject, TodayInUk(now));
  const bool granted =
      std::any_of(facts.subject.grants.begin(), facts.subject.grants.end(),
                  [now](const GrantFact& grant) { return GrantActiveAt(grant, now); });
  const bool admin = facts.actor.administrator;
  can.know_exists = self || care_team || proxy > 0 || granted || admin;
  can.create_documents = self || care_team || proxy >= ACCESS_LEVEL_EDIT;
  can.list_all_documents = self || care_team || proxy > 0;
  can.full_profile = self || care_team || admin;
  can.manage_sharing = self;
  can.manage_care_team = admin || care_team;
  can.read_access_log = self;
  can.set_up_proxy = admin || care_team;
  // A clinical judgement: the care team's, never an administrator's.
  can.decide_competence = care_team;
  return can;
}

}  // namespace coplan
