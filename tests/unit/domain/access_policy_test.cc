// The relationship rules: who may do what with whose records, decided at chosen
// instants (grant and session expiry, the 16th birthday).
#include "server/domain/access_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/common/proto_time.h"

namespace coplan {
namespace {

AccessFacts Facts(const std::string& actor, const std::string& subject) {
  AccessFacts facts;
  facts.actor_id = actor;
  facts.actor.exists = true;
  facts.subject.person_id = subject;
  facts.subject.exists = true;
  return facts;
}

// An instant in the UK (London) time zone.
absl::Time UkTime(int year, int month, int day, int hour, int minute = 0, int second = 0) {
  absl::TimeZone london;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &london));
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second), london);
}

const DocumentRef kCrisisPlan{v1::DOCUMENT_KIND_CRISIS_PLAN, "plans/crisis"};

TEST(AccessPolicyTest, ProxyAccessEndsAtSixteenUnlessTheYoungPersonGrantedIt) {
  const absl::CivilDay today(2026, 6, 15);
  const ProxyStanding not_competent{false, false, false, false};
  EXPECT_EQ(ProxyStateOn(not_competent, absl::CivilDay(2010, 6, 16), today),
            v1::PROXY_STATE_ACTIVE);  // 15
  EXPECT_EQ(ProxyStateOn(not_competent, absl::CivilDay(2010, 6, 15), today),
            v1::PROXY_STATE_SUSPENDED_AT_16);  // 16 today
  EXPECT_EQ(ProxyStateOn({true, false}, absl::CivilDay(2010, 6, 15), today),
            v1::PROXY_STATE_ACTIVE);
  EXPECT_EQ(ProxyStateOn({false, true, false}, absl::CivilDay(2012, 1, 1), today),
            v1::PROXY_STATE_REFUSED);
  EXPECT_EQ(ProxyStateOn(not_competent, std::nullopt, today), v1::PROXY_STATE_SUSPENDED_AT_16);
  EXPECT_EQ(AgeOn(absl::CivilDay(2008, 2, 29), absl::CivilDay(2026, 2, 28)), 17);
  EXPECT_EQ(AgeOn(absl::CivilDay(2008, 2, 29), absl::CivilDay(2026, 3, 1)), 18);
}

// Set up by staff for an under-16: every state of the competence state machine.
TEST(AccessPolicyTest, AStaffMadeProxyFollowsTheCompetenceDecisionAndTheYoungPersonsAcceptance) {
  const absl::CivilDay today(2026, 6, 15);
  const absl::CivilDay fifteen(2010, 6, 16);
  auto state = [&](std::optional<bool> competent, bool accepted, bool refused = false) {
    return ProxyStateOn({false, refused, competent, accepted}, fifteen, today);
  };
  EXPECT_EQ(state(std::nullopt, false), v1::PROXY_STATE_AWAITING_COMPETENCE_DECISION);
  EXPECT_EQ(state(false, false), v1::PROXY_STATE_ACTIVE);  // not competent
  EXPECT_EQ(state(true, false), v1::PROXY_STATE_AWAITING_ACCEPTANCE);
  EXPECT_EQ(state(true, true), v1::PROXY_STATE_ACTIVE);
  EXPECT_EQ(state(std::nullopt, true), v1::PROXY_STATE_ACTIVE);  // accepted before a decision
  for (std::optional<bool> competent :
       {std::optional<bool>(), std::optional<bool>(true), std::optional<bool>(false)}) {
    EXPECT_EQ(state(competent, false, /*refused=*/true), v1::PROXY_STATE_REFUSED);
    EXPECT_EQ(ProxyStateOn({false, false, competent, true}, absl::CivilDay(2010, 6, 15), today),
              v1::PROXY_STATE_SUSPENDED_AT_16);
  }
  // Only an active proxy gives access.
  AccessFacts facts = Facts("guardian", "young");
  facts.subject.birth_date = fifteen;
  facts.subject.proxies.push_back({"guardian", v1::ACCESS_LEVEL_EDIT, false, true, false});
  const absl::Time now = UkTime(2026, 6, 15, 12);
  EXPECT_FALSE(PermissionsForDocument(facts, kCrisisPlan, now).read);
  facts.subject.proxies[0].accepted = true;
  EXPECT_TRUE(PermissionsForDocument(facts, kCrisisPlan, now).read);
}

TEST(AccessPolicyTest, GrantsCoverNamedDocumentsOrKindsAndNeverDeletion) {
  AccessFacts facts = Facts("carer", "person");
  facts.subject.grants.push_back({"g", {"plans/crisis"}, {}, v1::ACCESS_LEVEL_EDIT, std::nullopt});
  const absl::Time today = UkTime(2026, 1, 1, 12);
  auto crisis =
      PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CRISIS_PLAN, "plans/crisis"}, today);
  EXPECT_TRUE(crisis.read && crisis.edit);
  EXPECT_FALSE(crisis.remove);
  EXPECT_FALSE(crisis.sign_off_role.has_value());
  EXPECT_FALSE(
      PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CRISIS_PLAN, "plans/other"}, today).read);
  facts.subject.grants.push_back(
      {"k", {}, {v1::DOCUMENT_KIND_CARE_PLAN}, v1::ACCESS_LEVEL_READ, std::nullopt});
  auto care = PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CARE_PLAN, "plans/any"}, today);
  EXPECT_TRUE(care.read);
  EXPECT_FALSE(care.edit);
  // A revoked session or an unknown caller gets nothing, whatever the relationship.
  facts.actor.session_needed = true;
  EXPECT_FALSE(
      PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CRISIS_PLAN, "plans/crisis"}, today).read);
}

// A soft-deleted document stays readable to those who may undelete it (the person and
// the care team) and to nobody else: a grant or proxy access covering it reads nothing.
TEST(AccessPolicyTest, ADeletedDocumentIsReadOnlyByThePersonAndTheCareTeam) {
  const absl::Time today = UkTime(2026, 1, 1, 12);
  const DocumentRef deleted{v1::DOCUMENT_KIND_CRISIS_PLAN, "plans/crisis", /*deleted=*/true};
  AccessFacts carer = Facts("carer", "person");
  carer.subject.grants.push_back({"g", {"plans/crisis"}, {}, v1::ACCESS_LEVEL_EDIT, std::nullopt});
  EXPECT_TRUE(PermissionsForDocument(carer, kCrisisPlan, today).read);
  EXPECT_FALSE(PermissionsForDocument(carer, deleted, today).read);
  EXPECT_FALSE(PermissionsForDocument(carer, deleted, today).edit);
  AccessFacts guardian = Facts("guardian", "young");
  guardian.subject.birth_date = absl::CivilDay(2015, 1, 1);
  guardian.subject.proxies.push_back(
      {"guardian", v1::ACCESS_LEVEL_EDIT, false, /*judged_competent=*/false});
  EXPECT_FALSE(PermissionsForDocument(guardian, deleted, today).read);
  EXPECT_TRUE(PermissionsForDocument(Facts("person", "person"), deleted, today).read);
  AccessFacts clinician = Facts("c", "person");
  clinician.subject.in_care_team = true;
  clinician.actor.clinician = true;
  EXPECT_TRUE(PermissionsForDocument(clinician, deleted, today).read);
  EXPECT_TRUE(PermissionsForDocument(clinician, deleted, today).remove);
}

TEST(AccessPolicyTest, CareTeamNeedsARegisteredClinicianAndAdministratorsSeeNoRecords) {
  const absl::Time today = UkTime(2026, 1, 1, 12);
  AccessFacts facts = Facts("c", "p");
  facts.subject.in_care_team = true;
  EXPECT_FALSE(PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CARE_PLAN, "plans/x"}, today).read);
  facts.actor.clinician = true;
  EXPECT_TRUE(
      PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CARE_PLAN, "plans/x"}, today).remove);
  AccessFacts admin = Facts("a", "p");
  admin.actor.administrator = true;
  EXPECT_FALSE(PermissionsForDocument(admin, {v1::DOCUMENT_KIND_CARE_PLAN, "plans/x"}, today).read);
  EXPECT_TRUE(PermissionsForPerson(admin, today).manage_care_team);
  EXPECT_FALSE(PermissionsForPerson(admin, today).read_access_log);
}

TEST(AccessPolicyTest, AGrantEndsAtItsExpiryInstantNotTheNextDay) {
  AccessFacts facts = Facts("carer", "person");
  const absl::Time expiry = UkTime(2026, 3, 14, 17, 30);
  facts.subject.grants.push_back({"g", {"plans/crisis"}, {}, v1::ACCESS_LEVEL_READ, expiry});
  EXPECT_TRUE(PermissionsForDocument(facts, kCrisisPlan, expiry - absl::Seconds(1)).read);
  EXPECT_FALSE(PermissionsForDocument(facts, kCrisisPlan, expiry).read);
  EXPECT_FALSE(PermissionsForDocument(facts, kCrisisPlan, expiry + absl::Hours(1)).read);
  // With the only grant expired, the person is not known to the carer at all.
  EXPECT_TRUE(PermissionsForPerson(facts, expiry - absl::Seconds(1)).know_exists);
  EXPECT_FALSE(PermissionsForPerson(facts, expiry).know_exists);
}

TEST(AccessPolicyTest, GuardianAccessEndsAtUkMidnightOfTheSixteenthBirthday) {
  AccessFacts facts = Facts("guardian", "young-person");
  facts.subject.birth_date = absl::CivilDay(2010, 7, 1);
  facts.subject.proxies.push_back({"x", v1::ACCESS_LEVEL_EDIT, /*granted_by_person=*/false,
                                   /*judged_competent=*/false});
  // 30 June 2026, 23:59:59 in London (British Summer Time): still 15.
  EXPECT_TRUE(PermissionsForDocument(facts, kCrisisPlan, UkTime(2026, 6, 30, 23, 59, 59)).edit);
  // One second later the young person is 16: staff-made proxy access is suspended.
  EXPECT_FALSE(PermissionsForDocument(facts, kCrisisPlan, UkTime(2026, 7, 1, 0, 0, 0)).read);
  EXPECT_FALSE(PermissionsForPerson(facts, UkTime(2026, 7, 1, 0, 0, 0)).know_exists);
  // Access the young person granted themself goes on.
  facts.subject.proxies[0].granted_by_person = true;
  EXPECT_TRUE(PermissionsForDocument(facts, kCrisisPlan, UkTime(2027, 1, 1, 9)).edit);
}

TEST(AccessPolicyTest, ReadAccessEndsAtTheFirstTimedChangeThatTakesItAway) {
  const absl::Time now = UkTime(2026, 6, 1, 12);
  AccessFacts carer = Facts("carer", "person");
  // Two grants cover the plan: access ends when the later one does.
  carer.subject.grants.push_back(
      {"a", {"plans/crisis"}, {}, v1::ACCESS_LEVEL_READ, now + absl::Hours(1)});
  carer.subject.grants.push_back(
      {"b", {}, {v1::DOCUMENT_KIND_CRISIS_PLAN}, v1::ACCESS_LEVEL_READ, now + absl::Hours(5)});
  EXPECT_EQ(ReadAccessEndsAt(carer, kCrisisPlan, now), now + absl::Hours(5));
  // A session ending sooner ends it sooner.
  carer.actor.session_needed = true;
  carer.actor.session_expire_time = now + absl::Hours(2);
  EXPECT_EQ(ReadAccessEndsAt(carer, kCrisisPlan, now), now + absl::Hours(2));
  // What a device may go on showing offline ends by the grants alone: the session is
  // renewed by refreshing.
  EXPECT_EQ(DocumentAccessEndsAt(carer, kCrisisPlan, now), now + absl::Hours(5));
  AccessFacts own = Facts("person", "person");
  own.actor.session_needed = true;
  own.actor.session_expire_time = now + absl::Hours(2);
  EXPECT_FALSE(DocumentAccessEndsAt(own, kCrisisPlan, now).has_value());

  AccessFacts guardian = Facts("guardian", "young");
  guardian.subject.birth_date = absl::CivilDay(2010, 7, 1);
  guardian.subject.proxies.push_back(
      {"x", v1::ACCESS_LEVEL_READ, false, /*judged_competent=*/false});
  EXPECT_EQ(ReadAccessEndsAt(guardian, kCrisisPlan, now), UkTime(2026, 7, 1, 0));
  // Nothing timed ends the person's own access; none is none.
  EXPECT_FALSE(ReadAccessEndsAt(Facts("person", "person"), kCrisisPlan, now).has_value());
  EXPECT_EQ(ReadAccessEndsAt(Facts("stranger", "person"), kCrisisPlan, now), now);
}

TEST(AccessPolicyTest, TheServersOwnSessionsEndAtTheirExpiry) {
  AccessFacts facts = Facts("person", "person");
  const absl::Time expiry = UkTime(2026, 5, 1, 10);
  facts.actor.session_needed = true;
  facts.actor.session_expire_time = expiry;
  EXPECT_TRUE(CallerIsValid(facts, expiry - absl::Milliseconds(1)));
  EXPECT_TRUE(PermissionsForDocument(facts, kCrisisPlan, expiry - absl::Milliseconds(1)).read);
  EXPECT_FALSE(CallerIsValid(facts, expiry));
  EXPECT_FALSE(PermissionsForDocument(facts, kCrisisPlan, expiry).read);
  // A revoked (or unknown) session has no expiry on record: never valid.
  facts.actor.session_expire_time.reset();
  EXPECT_FALSE(CallerIsValid(facts, expiry - absl::Hours(1)));
  // Tokens that name no session (OpenID Connect) need none.
  facts.actor.session_needed = false;
  EXPECT_TRUE(CallerIsValid(facts, expiry + absl::Hours(1)));
}

}  // namespace
}  // namespace coplan
