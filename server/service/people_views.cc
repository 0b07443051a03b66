#include "server/service/people_views.h"

#include "absl/strings/str_cat.h"
#include "server/common/proto_time.h"
#include "server/common/resource_names.h"
#include "server/domain/access_policy.h"

namespace coplan {

v1::GrantState StateOf(const GrantRow& grant, absl::Time now) {
  if (grant.revoke_time) return v1::GRANT_STATE_REVOKED;
  if (grant.expire_time && *grant.expire_time <= now) return v1::GRANT_STATE_EXPIRED;
  if (grant.grantee_id.empty()) {
    // An invitation no one accepted: no one can any more once its code has run out.
    if (grant.invitation_expire_time && *grant.invitation_expire_time <= now) {
      return v1::GRANT_STATE_EXPIRED;
    }
    return v1::GRANT_STATE_INVITED;
  }
  return v1::GRANT_STATE_ACTIVE;
}

v1::Grant ToGrant(const GrantRow& row, absl::Time now) {
  v1::Grant grant;
  grant.set_name(absl::StrCat("people/", row.person_id, "/grants/", row.id));
  if (!row.grantee_id.empty()) {
    grant.set_grantee(PersonName(row.grantee_id));
    grant.set_grantee_display_name(row.grantee_display_name);
  }
  for (const auto& document : row.documents) {
    grant.add_documents(absl::StrCat("people/", row.person_id, "/", document));
  }
  for (int kind : row.document_kinds) grant.add_document_kinds(static_cast<v1::DocumentKind>(kind));
  grant.set_access(static_cast<v1::AccessLevel>(row.access));
  if (row.expire_time) *grant.mutable_expire_time() = ToTimestamp(*row.expire_time);
  *grant.mutable_create_time() = ToTimestamp(row.create_time);
  if (row.revoke_time) *grant.mutable_revoke_time() = ToTimestamp(*row.revoke_time);
  if (row.invitation_expire_time) {
    *grant.mutable_invitation_expire_time() = ToTimestamp(*row.invitation_expire_time);
  }
  if (row.accept_time) *grant.mutable_accept_time() = ToTimestamp(*row.accept_time);
  grant.set_state(StateOf(row, now));
  return grant;
}

ProxyStanding StandingOf(const ProxyRow& row) {
  return ProxyStanding{row.granted_by_person, row.refuse_time.has_value(), row.judged_competent,
                       row.accept_time.has_value()};
}

v1::ProxyAccess ToProxy(const ProxyRow& row, const std::optional<absl::CivilDay>& birth_date,
                        absl::CivilDay today) {
  v1::ProxyAccess proxy;
  proxy.set_name(absl::StrCat("people/", row.person_id, "/proxyAccesses/", row.id));
  proxy.set_proxy(PersonName(row.proxy_id));
  proxy.set_proxy_display_name(row.proxy_display_name);
  proxy.set_access(static_cast<v1::AccessLevel>(row.access));
  proxy.set_granted_by_person(row.granted_by_person);
  proxy.set_state(ProxyStateOn(StandingOf(row), birth_date, today));
  *proxy.mutable_create_time() = ToTimestamp(row.create_time);
  if (row.refuse_time) *proxy.mutable_refuse_time() = ToTimestamp(*row.refuse_time);
  if (row.judged_competent) {
    proxy.set_competence(*row.judged_competent ? v1::COMPETENCE_DECISION_COMPETENT
                                               : v1::COMPETENCE_DECISION_NOT_COMPETENT);
    proxy.set_competence_reason(row.competence_reason);
    if (!row.competence_decided_by.empty()) {
      proxy.set_competence_decided_by(PersonName(row.competence_decided_by));
    }
    if (row.competence_decision_time) {
      *proxy.mutable_competence_decision_time() = ToTimestamp(*row.competence_decision_time);
    }
  }
  if (row.accept_time) *proxy.mutable_accept_time() = ToTimestamp(*row.accept_time);
  return proxy;
}

v1::CareTeamMember ToMember(const std::string& person_id, const CareTeamRow& row) {
  v1::CareTeamMember member;
  member.set_name(absl::StrCat("people/", person_id, "/careTeamMembers/", row.clinician_id));
  member.set_clinician(PersonName(row.clinician_id));
  member.set_clinician_display_name(row.clinician_display_name);
  member.set_role(row.role);
  *member.mutable_create_time() = ToTimestamp(row.create_time);
  return member;
}

}  // namespace coplan
