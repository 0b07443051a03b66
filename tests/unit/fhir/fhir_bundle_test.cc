// The FHIR R4 mapping: the resources and values a person's records become, references that
// all resolve inside the Bundle, ids stable across exports, and Bundles that both R4
// validators accept (fhir.resources for structure, google-fhir-r4 for coded values).
//
// The validators run as programs named by two environment variables, each a full command
// to which file paths are appended:
//
//   COPLAN_FHIR_STRUCTURE_VALIDATOR="/tmp/venv-a/bin/python tests/fhir/validate_structure.py"
//   COPLAN_FHIR_CODE_VALIDATOR="/tmp/venv-b/bin/python tests/fhir/validate_codes.py"
#include "server/fhir/fhir_bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "server/common/proto_time.h"
#include "server/common/subprocess.h"

namespace coplan {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kPerson[] = "people/alex";
constexpr char kClinician[] = "people/okafor";
constexpr char kMum[] = "people/jordan";
constexpr char kCrisisPlan[] = "people/alex/plans/crisis-plan";
constexpr char kCarePlan[] = "people/alex/plans/care-plan";
constexpr char kDecision[] = "people/alex/decisions/first-steps";
constexpr char kGridVersion[] = "optionGrids/low-mood/versions/2";

google::protobuf::Timestamp At(int day, int hour) {
  return ToTimestamp(
      absl::FromCivil(absl::CivilSecond(2026, 3, day, hour, 15, 30), absl::UTCTimeZone()) +
      absl::Milliseconds(250));
}

google::type::Date Day(int year, int month, int day) {
  return ToDate(absl::CivilDay(year, month, day));
}

v1::TextItem* AddText(google::protobuf::RepeatedPtrField<v1::TextItem>* list, const std::string& id,
                      const std::string& text) {
  v1::TextItem* item = list->Add();
  item->set_id(id);
  item->set_text(text);
  return item;
}

v1::Person MakePerson(const std::string& name, const std::string& display_name, bool clinician) {
  v1::Person person;
  person.set_name(name);
  person.set_display_name(display_name);
  person.set_clinician(clinician);
  return person;
}

v1::Plan DemoCrisisPlan() {
  v1::Plan plan;
  plan.set_name(kCrisisPlan);
  plan.set_title("When things get really hard");
  plan.set_revision(3);
  *plan.mutable_create_time() = At(1, 9);
  plan.set_creator(kPerson);
  plan.set_last_editor(kClinician);
  v1::CrisisPlan* crisis = plan.mutable_crisis_plan();
  AddText(crisis->mutable_warning_signs(), "w-1", "I stop replying to my friends");
  AddText(crisis->mutable_coping_strategies(), "c-1", "Draw, or take Biscuit for a walk");
  AddText(crisis->mutable_distractions(), "d-1", "The climbing wall with Priya");
  v1::Contact* mum = crisis->add_help_contacts();
  mum->set_id("h-1");
  mum->set_name("Mum (Jordan)");
  mum->set_relationship("my mum");
  mum->set_phone("07700 900123");
  mum->set_notes("Text first after 10pm");
  v1::ServiceContact* samaritans = crisis->add_professional_contacts();
  samaritans->set_id("p-1");
  samaritans->set_name("Samaritans");
  samaritans->set_phone("116 123");
  samaritans->set_hours("24 hours, every day");
  samaritans->set_crisis_service(true);
  samaritans->set_website("https://www.samaritans.org");
  v1::ServiceContact* team = crisis->add_professional_contacts();
  team->set_id("p-2");
  team->set_name("Dr Okafor, CAMHS");
  team->set_hours("Monday to Friday, 9am to 5pm");
  AddText(crisis->mutable_safe_environment(), "s-1", "Mum keeps the medicines locked away");
  AddText(crisis->mutable_reasons_for_living(), "r-1", "Biscuit");
  v1::CrisisPreference* wish = crisis->add_wishes_if_unwell();
  wish->set_id("wi-1");
  wish->set_topic(v1::PREFERENCE_TOPIC_STAFF);
  wish->set_text("To see someone from my CAMHS team I already know");
  v1::CrisisPreference* refusal = crisis->add_refusals_if_unwell();
  refusal->set_id("re-1");
  refusal->set_topic(v1::PREFERENCE_TOPIC_PLACE);
  refusal->set_text("Please don't admit me to an adult ward");
  AddText(crisis->mutable_practical_arrangements(), "pa-1", "Someone to walk Biscuit");
  AddText(crisis->mutable_who_may_see(), "wm-1", "Mum, and my CAMHS team");
  v1::Agreement* agreement = plan.mutable_agreement();
  agreement->set_agreed_revision(3);
  v1::SignOff* mine = agreement->add_sign_offs();
  mine->set_person(kPerson);
  mine->set_role(v1::SIGN_OFF_ROLE_SERVICE_USER);
  mine->set_revision(3);
  *mine->mutable_sign_time() = At(2, 10);
  v1::SignOff* theirs = agreement->add_sign_offs();
  theirs->set_person(kClinician);
  theirs->set_role(v1::SIGN_OFF_ROLE_CLINICIAN);
  theirs->set_revision(3);
  *theirs->mutable_sign_time() = At(2, 11);
  return plan;
}

v1::Plan DemoCarePlan() {
  v1::Plan plan;
  plan.set_name(kCarePlan);
  plan.set_title("My care plan");
  *plan.mutable_create_time() = At(1, 10);
  plan.set_creator(kClinician);
  v1::CarePlan* care = plan.mutable_care_plan();
  care->mutable_about_me()->set_what_matters("Finishing my A-levels, and my dog Biscuit.");
  AddText(care->mutable_about_me()->mutable_strengths(), "st-1", "I'm good at drawing");
  v1::Goal* goal = care->add_goals();
  goal->set_id("g-1");
  goal->set_description("Get back to college three days a week by half term");
  AddText(goal->mutable_steps(), "s-1", "Go in for the morning on Mondays and Wednesdays");
  AddText(goal->mutable_supporters(), "su-1", "College wellbeing team");
  *goal->mutable_target_date() = Day(2026, 4, 12);
  goal->set_status(v1::GOAL_STATUS_IN_PROGRESS);
  v1::CareAction* action = care->add_actions();
  action->set_id("a-1");
  action->set_description("Refer Alex to the college counsellor");
  action->set_responsible("Dr Okafor");
  *action->mutable_due_date() = Day(2026, 3, 8);
  action->set_status(v1::ACTION_STATUS_OPEN);
  v1::MedicationPreference* medication = care->add_unacceptable_medications();
  medication->set_id("m-1");
  medication->set_medication("Anything that makes me put on weight");
  medication->set_notes("It made me feel worse about myself last time");
  care->mutable_key_worker()->set_display_name("Dr Sam Okafor");
  care->mutable_key_worker()->set_person(kClinician);
  care->mutable_key_worker()->set_phone("020 7946 0000");
  *care->mutable_review_date() = Day(2026, 3, 29);
  v1::DialogAssessment* dialog = care->mutable_dialog();
  *dialog->mutable_assessed_on() = Day(2026, 3, 1);
  v1::DialogRating* rating = dialog->add_ratings();
  rating->set_id("dr-1");
  rating->set_domain(v1::DIALOG_DOMAIN_FRIENDSHIPS);
  rating->set_score(5);
  rating->set_wants_more_help(true);
  return plan;
}

v1::OptionGridVersion DemoGridVersion() {
  v1::OptionGridVersion version;
  version.set_name(kGridVersion);
  version.set_version(2);
  *version.mutable_publish_time() = At(1, 8);
  v1::OptionGrid* grid = version.mutable_grid();
  grid->set_title("First steps for low mood");
  grid->set_decision_question("What could help with my low mood first?");
  grid->set_locale("en-GB");
  v1::GridOption* therapy = grid->add_options();
  therapy->set_id("o-1");
  therapy->set_title("Talking therapy (CBT)");
  v1::GridOption* wait = grid->add_options();
  wait->set_id("o-2");
  wait->set_title("Wait and see");
  wait->set_wait_and_see(true);
  v1::GridQuestion* question = grid->add_questions();
  question->set_id("q-1");
  question->set_question("How long does it take to help?");
  v1::GridAnswer* answer = question->add_answers();
  answer->set_id("an-1");
  answer->set_option_id("o-1");
  answer->set_text("Usually 6 to 12 weekly sessions");
  answer->add_source_ids("src-1");
  v1::GridSource* source = grid->add_sources();
  source->set_id("src-1");
  source->set_citation("NICE guideline NG222 (2022)");
  source->set_url("https://www.nice.org.uk/guidance/ng222");
  v1::GridAuthor* author = grid->add_authors();
  author->set_id("au-1");
  author->set_name("Dr Priya Shah");
  author->set_role("clinical psychologist");
  *grid->mutable_last_review_date() = Day(2026, 1, 10);
  *grid->mutable_next_review_date() = Day(2027, 1, 10);
  return version;
}

v1::DecisionRecord DemoDecision() {
  v1::DecisionRecord decision;
  decision.set_name(kDecision);
  decision.set_option_grid_version(kGridVersion);
  decision.set_title("What could help with my low mood first?");
  decision.set_stage(v1::DECISION_STAGE_MADE_A_CHOICE);
  v1::RowImportance* importance = decision.add_importances();
  importance->set_id("i-1");
  importance->set_question_id("q-1");
  importance->set_importance(5);
  importance->set_note("I want to feel better before exams");
  decision.set_leaning_option_id("o-1");
  decision.mutable_who_decides()->set_mode(v1::DECISION_MAKER_MODE_TOGETHER);
  AddText(decision.mutable_who_decides()->mutable_people(), "wp-1", "Mum");
  v1::SureTest* sure = decision.mutable_sure();
  sure->set_sure_of_best_choice(v1::SURE_ANSWER_YES);
  sure->set_understands_benefits_and_risks(v1::SURE_ANSWER_YES);
  sure->set_clear_about_what_matters(v1::SURE_ANSWER_NO);
  sure->set_enough_support(v1::SURE_ANSWER_YES);
  sure->set_score(3);
  sure->set_decisional_conflict(true);
  sure->set_complete(true);
  v1::DecisionOutcome* outcome = decision.mutable_outcome();
  outcome->set_option_id("o-1");
  *outcome->mutable_decided_on() = Day(2026, 3, 3);
  AddText(outcome->mutable_participants(), "pt-1", "me");
  AddText(outcome->mutable_participants(), "pt-2", "Dr Okafor");
  outcome->set_notes("Start after half term");
  *decision.mutable_follow_up_date() = Day(2026, 4, 20);
  decision.set_status(v1::DECISION_STATUS_DECIDED);
  *decision.mutable_create_time() = At(2, 9);
  decision.set_creator(kPerson);
  return decision;
}

PersonRecords DemoRecords() {
  PersonRecords records;
  records.person = MakePerson(kPerson, "Alex Morgan", false);
  records.person.set_nhs_number("9434765919");
  *records.person.mutable_birth_date() = Day(2010, 5, 17);
  records.people[kClinician] = MakePerson(kClinician, "Dr Sam Okafor", true);
  records.people[kMum] = MakePerson(kMum, "Jordan Morgan", false);
  records.plans = {DemoCrisisPlan(), DemoCarePlan()};
  records.decisions = {DemoDecision()};
  records.grid_versions[kGridVersion] = DemoGridVersion();
  v1::CollaborateResponse collaborate;
  collaborate.set_name(absl::StrCat(kDecision, "/collaborateResponses/cr-1"));
  collaborate.set_clinician(kClinician);
  collaborate.set_understand_health_issues(9);
  collaborate.set_listen_to_what_matters(8);
  collaborate.set_include_what_matters(9);
  *collaborate.mutable_create_time() = At(3, 12);
  records.collaborate_responses = {collaborate};
  v1::CareTeamMember member;
  member.set_name("people/alex/careTeamMembers/okafor");
  member.set_clinician(kClinician);
  member.set_clinician_display_name("Dr Sam Okafor");
  member.set_role("care coordinator");
  *member.mutable_create_time() = At(1, 8);
  records.care_team = {member};
  v1::Grant grant;
  grant.set_name("people/alex/grants/g-mum");
  grant.set_grantee(kMum);
  grant.add_documents(kCrisisPlan);
  grant.add_document_kinds(v1::DOCUMENT_KIND_DECISION_RECORD);
  grant.set_access(v1::ACCESS_LEVEL_READ);
  grant.set_state(v1::GRANT_STATE_ACTIVE);
  *grant.mutable_create_time() = At(2, 12);
  v1::Grant invitation;
  invitation.set_name("people/alex/grants/g-invite");
  invitation.set_access(v1::ACCESS_LEVEL_EDIT);
  invitation.set_state(v1::GRANT_STATE_INVITED);
  *invitation.mutable_create_time() = At(3, 12);
  records.grants_given = {grant, invitation};
  v1::ProxyAccess proxy;
  proxy.set_name("people/alex/proxyAccesses/px-1");
  proxy.set_proxy(kMum);
  proxy.set_access(v1::ACCESS_LEVEL_READ);
  proxy.set_state(v1::PROXY_STATE_ACTIVE);
  proxy.set_competence(v1::COMPETENCE_DECISION_NOT_COMPETENT);
  proxy.set_competence_reason("Alex asked for Mum to help manage appointments");
  proxy.set_competence_decided_by(kClinician);
  *proxy.mutable_competence_decision_time() = At(1, 14);
  *proxy.mutable_create_time() = At(1, 13);
  records.proxies = {proxy};
  DocumentHistory history;
  history.document = kCrisisPlan;
  for (int n = 1; n <= 3; ++n) {
    v1::Revision revision;
    revision.set_name(absl::StrCat(kCrisisPlan, "/revisions/", n));
    revision.set_revision(n);
    revision.set_kind(n == 1 ? v1::REVISION_KIND_CREATE : v1::REVISION_KIND_EDIT);
    revision.set_author(n == 3 ? kClinician : kPerson);
    *revision.mutable_create_time() = At(1, 9 + n);
    revision.add_changed_paths("crisis_plan.warning_signs");
    history.revisions.push_back(revision);
  }
  records.histories = {history};
  v1::AccessEvent read;
  read.set_sequence(41);
  *read.mutable_event_time() = At(4, 9);
  read.set_actor(kMum);
  read.set_actor_display_name("Jordan Morgan");
  read.set_on_behalf_of(kPerson);
  read.set_action(v1::AUDIT_ACTION_READ);
  read.set_resource(kCrisisPlan);
  read.set_outcome(v1::AUDIT_OUTCOME_ALLOWED);
  read.set_method("coplan.v1.PlanService/GetPlan");
  v1::AccessEvent denied = read;
  denied.set_sequence(42);
  denied.set_actor("people/stranger");
  denied.set_actor_display_name("Someone Else");
  denied.set_resource(kCarePlan);
  denied.set_outcome(v1::AUDIT_OUTCOME_DENIED);
  v1::AccessEvent given;
  given.set_sequence(43);
  *given.mutable_event_time() = At(2, 12);
  given.set_actor(kPerson);
  given.set_on_behalf_of(kPerson);
  given.set_action(v1::AUDIT_ACTION_GRANT);
  given.set_resource("people/alex/grants/g-mum");
  given.set_outcome(v1::AUDIT_OUTCOME_ALLOWED);
  given.set_access_given_to(kMum);
  given.set_access_given_to_display_name("Jordan Morgan");
  v1::AccessEvent sign_in;
  sign_in.set_sequence(44);
  *sign_in.mutable_event_time() = At(4, 8);
  sign_in.set_actor(kPerson);
  sign_in.set_action(v1::AUDIT_ACTION_SIGN_IN);
  sign_in.set_outcome(v1::AUDIT_OUTCOME_ALLOWED);
  records.access_events = {read, denied, given, sign_in};
  records.export_time =
      absl::FromCivil(absl::CivilSecond(2026, 3, 5, 12, 0, 0), absl::UTCTimeZone());
  return records;
}

// --- Reading a Bundle ---------------------------------------------------------------------

std::vector<json> Resources(const json& bundle, const std::string& type) {
  std::vector<json> found;
  for (const json& entry : bundle["entry"]) {
    if (entry["resource"]["resourceType"] == type) found.push_back(entry["resource"]);
  }
  return found;
}

// The one resource of `type` whose identifier is the Coplan name `name`.
json ByCoplanName(const json& bundle, const std::string& type, const std::string& name) {
  for (const json& resource : Resources(bundle, type)) {
    json identifiers = resource.value("identifier", json::array());
    if (identifiers.is_object()) identifiers = json::array({identifiers});
    for (const json& identifier : identifiers) {
      if (identifier.value("value", "") == name) return resource;
    }
  }
  ADD_FAILURE() << "no " << type << " named " << name;
  return json::object();
}

json ByFullUrl(const json& bundle, const std::string& full_url) {
  for (const json& entry : bundle["entry"]) {
    if (entry["fullUrl"] == full_url) return entry["resource"];
  }
  ADD_FAILURE() << "no entry " << full_url;
  return json::object();
}

std::vector<json> ActivitiesWithCode(const json& care_plan, const std::string& code) {
  std::vector<json> found;
  for (const json& activity : care_plan.value("activity", json::array())) {
    if (activity["detail"]["code"]["coding"][0]["code"] == code) found.push_back(activity);
  }
  return found;
}

void CollectReferences(const json& node, std::vector<std::string>* references) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "reference" && it.value().is_string()) {
        references->push_back(it.value().get<std::string>());
      } else {
        CollectReferences(it.value(), references);
      }
    }
  } else if (node.is_array()) {
    for (const json& element : node) CollectReferences(element, references);
  }
}

// Every reference names a fullUrl of the Bundle, and fullUrls are unique.
void ExpectReferencesResolve(const json& bundle) {
  std::set<std::string> full_urls;
  for (const json& entry : bundle["entry"]) {
    const std::string full_url = entry["fullUrl"];
    EXPECT_TRUE(full_urls.insert(full_url).second) << "duplicate fullUrl " << full_url;
    EXPECT_EQ(full_url, absl::StrCat("urn:uuid:", entry["resource"]["id"].get<std::string>()));
  }
  std::vector<std::string> references;
  CollectReferences(bundle, &references);
  EXPECT_FALSE(references.empty());
  for (const std::string& reference : references) {
    EXPECT_TRUE(full_urls.count(reference)) << "unresolved reference " << reference;
  }
}

// FHIR forbids empty strings, arrays and objects anywhere.
void ExpectNoEmptyValues(const json& node, const std::string& path) {
  if (node.is_string()) {
    EXPECT_FALSE(node.get<std::string>().empty()) << "empty string at " << path;
  } else if (node.is_array() || node.is_object()) {
    EXPECT_FALSE(node.empty()) << "empty value at " << path;
    for (auto it = node.begin(); it != node.end(); ++it) {
      ExpectNoEmptyValues(it.value(),
                          node.is_object() ? absl::StrCat(path, ".", it.key()) : path + "[]");
    }
  } else {
    EXPECT_FALSE(node.is_null()) << "null at " << path;
  }
}

// --- The validators ---------------------------------------------------------------------

std::string TestDirectory() {
  static const std::string directory = [] {
    std::string pattern = absl::StrCat(::testing::TempDir(), "fhir_bundle_test.XXXXXX");
    const char* made = mkdtemp(pattern.data());
    return made == nullptr ? ::testing::TempDir() : std::string(made);
  }();
  return directory;
}

std::string WriteJson(const json& value, const std::string& file_name) {
  const std::string path = absl::StrCat(TestDirectory(), "/", file_name);
  std::ofstream(path) << value.dump(2);
  return path;
}

struct ValidatorRun {
  int exit_code = -1;
  std::string output;
};

// Runs the validator named by `variable` on `paths` in one process; fails the test (never
// skips it) when the variable is not set.
std::optional<ValidatorRun> RunValidator(const char* variable,
                                         const std::vector<std::string>& paths) {
  const char* command = getenv(variable);
  if (command == nullptr || *command == '\0') {
    const bool structure = std::string(variable) == "COPLAN_FHIR_STRUCTURE_VALIDATOR";
    ADD_FAILURE() << variable << " is not set: set it to the command that validates FHIR R4 "
                  << "Bundle files (the paths are appended), e.g. " << variable << "=\""
                  << (structure ? "venv-a/bin/python tests/fhir/validate_structure.py"
                                : "venv-b/bin/python tests/fhir/validate_codes.py")
                  << "\" with a virtual environment made from tests/fhir/requirements-"
                  << (structure ? "structure" : "codes") << ".txt";
    return std::nullopt;
  }
  Subprocess::Options options;
  options.argv = absl::StrSplit(command, ' ', absl::SkipEmpty());
  options.argv.insert(options.argv.end(), paths.begin(), paths.end());
  static int runs = 0;
  options.stdout_file = absl::StrCat(TestDirectory(), "/validator-", ++runs, ".log");
  options.stderr_file = options.stdout_file;
  auto child = Subprocess::Start(options);
  if (!child.ok()) {
    ADD_FAILURE() << "cannot start " << command << ": " << child.status();
    return std::nullopt;
  }
  absl::StatusOr<int> exit_code = (*child)->Wait(absl::Minutes(5));
  if (!exit_code.ok()) {
    ADD_FAILURE() << command << ": " << exit_code.status();
    return std::nullopt;
  }
  std::stringstream output;
  output << std::ifstream(options.stdout_file).rdbuf();
  return ValidatorRun{*exit_code, output.str()};
}

void ExpectValid(const char* variable, const std::vector<std::string>& paths) {
  std::optional<ValidatorRun> run = RunValidator(variable, paths);
  if (!run) return;
  ASSERT_EQ(run->exit_code, 0) << run->output;
  for (const std::string& path : paths) EXPECT_THAT(run->output, HasSubstr(path + ": valid"));
}

void ExpectRejected(const char* variable, const std::string& path, const std::string& why) {
  std::optional<ValidatorRun> run = RunValidator(variable, {path});
  if (!run) return;
  EXPECT_NE(run->exit_code, 0) << variable << " accepted " << path << "\n" << run->output;
  EXPECT_THAT(run->output, HasSubstr(why));
}

constexpr char kStructureValidator[] = "COPLAN_FHIR_STRUCTURE_VALIDATOR";
constexpr char kCodeValidator[] = "COPLAN_FHIR_CODE_VALIDATOR";

// --- The demo records -------------------------------------------------------------------

TEST(FhirBundleTest, IsACollectionWithThePatientAndTheirNhsNumber) {
  const json bundle = BuildFhirBundle(DemoRecords());
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "collection");
  EXPECT_EQ(bundle["timestamp"], "2026-03-05T12:00:00Z");
  const std::vector<json> patients = Resources(bundle, "Patient");
  ASSERT_EQ(patients.size(), 1u);
  EXPECT_THAT(
      patients[0]["identifier"],
      Contains(json{{"system", "https://fhir.nhs.uk/Id/nhs-number"}, {"value", "9434765919"}}));
  EXPECT_THAT(
      patients[0]["identifier"],
      Contains(json{{"system", "https://coplan.app/fhir/Id/resource-name"}, {"value", kPerson}}));
  EXPECT_EQ(patients[0]["name"][0]["text"], "Alex Morgan");
  EXPECT_EQ(patients[0]["birthDate"], "2010-05-17");
}

TEST(FhirBundleTest, CliniciansArePractitionersAndOthersRelatedPeople) {
  const json bundle = BuildFhirBundle(DemoRecords());
  const json okafor = ByCoplanName(bundle, "Practitioner", kClinician);
  EXPECT_EQ(okafor["name"][0]["text"], "Dr Sam Okafor");
  const json mum = ByCoplanName(bundle, "RelatedPerson", kMum);
  EXPECT_EQ(mum["name"][0]["text"], "Jordan Morgan");
  EXPECT_EQ(mum["relationship"][0]["coding"][0]["code"], "GUARD");  // she is Alex's proxy
  const json patient = Resources(bundle, "Patient")[0];
  EXPECT_EQ(mum["patient"]["reference"],
            absl::StrCat("urn:uuid:", patient["id"].get<std::string>()));
  // Known only from the access log (someone refused): nobody to the person, so not their
  // RelatedPerson; the AuditEvent names them by their Coplan identifier.
  for (const json& entry : bundle["entry"]) {
    if (entry["resource"]["resourceType"] == "AuditEvent") continue;
    EXPECT_EQ(entry["resource"].dump().find("\"value\":\"people/stranger\""), std::string::npos)
        << entry["resource"]["resourceType"];
  }
  const json denied = Resources(bundle, "AuditEvent")[1];
  EXPECT_EQ(denied["agent"][0]["who"]["identifier"]["value"], "people/stranger");
  EXPECT_EQ(denied["agent"][0]["who"]["display"], "Someone Else");
  EXPECT_FALSE(denied["agent"][0]["who"].contains("reference"));
}

TEST(FhirBundleTest, CrisisPlanKeepsEverySectionInThePersonsWords) {
  const json bundle = BuildFhirBundle(DemoRecords());
  const json plan = ByCoplanName(bundle, "CarePlan", kCrisisPlan);
  EXPECT_EQ(plan["status"], "active");
  EXPECT_EQ(plan["intent"], "plan");
  EXPECT_EQ(plan["title"], "When things get really hard");
  EXPECT_EQ(plan["category"][0]["coding"][0],
            (json{{"system", "http://snomed.info/sct"},
                  {"code", "736253002"},
                  {"display", "Mental health crisis plan (record artifact)"}}));
  EXPECT_EQ(ActivitiesWithCode(plan, "warning-sign")[0]["detail"]["description"],
            "I stop replying to my friends");
  EXPECT_EQ(ActivitiesWithCode(plan, "reason-for-living")[0]["detail"]["description"], "Biscuit");
  EXPECT_EQ(ActivitiesWithCode(plan, "who-may-see")[0]["detail"]["description"],
            "Mum, and my CAMHS team");

  const std::vector<json> crisis_lines = ActivitiesWithCode(plan, "crisis-service");
  ASSERT_EQ(crisis_lines.size(), 1u);
  EXPECT_EQ(crisis_lines[0]["detail"]["scheduledString"], "24 hours, every day");
  const json samaritans = ByFullUrl(bundle, crisis_lines[0]["detail"]["performer"][0]["reference"]);
  EXPECT_EQ(samaritans["resourceType"], "HealthcareService");
  EXPECT_EQ(samaritans["name"], "Samaritans");
  EXPECT_THAT(samaritans["telecom"], Contains(json{{"system", "phone"}, {"value", "116 123"}}));
  EXPECT_EQ(ActivitiesWithCode(plan, "professional-contact")[0]["detail"]["scheduledString"],
            "Monday to Friday, 9am to 5pm");

  const json help = ActivitiesWithCode(plan, "help-contact")[0]["detail"];
  EXPECT_EQ(help["description"], "Text first after 10pm");
  const json contact = ByFullUrl(bundle, help["performer"][0]["reference"]);
  EXPECT_EQ(contact["resourceType"], "RelatedPerson");
  EXPECT_EQ(contact["relationship"][0]["text"], "my mum");

  const json refusal = ActivitiesWithCode(plan, "refusal-if-unwell")[0]["detail"];
  EXPECT_EQ(refusal["description"], "Please don't admit me to an adult ward");
  EXPECT_EQ(refusal["doNotPerform"], true);
  EXPECT_EQ(refusal["extension"][0]["valueCoding"]["code"], "place");
  EXPECT_TRUE(ActivitiesWithCode(plan, "advance-decision").empty());  // none was made
}

TEST(FhirBundleTest, CarePlanHasGoalsActionsCareTeamAndDialog) {
  const json bundle = BuildFhirBundle(DemoRecords());
  const json plan = ByCoplanName(bundle, "CarePlan", kCarePlan);
  EXPECT_EQ(plan["category"][0]["coding"][0]["code"], "718347000");
  ASSERT_EQ(plan["goal"].size(), 1u);
  const json goal = ByFullUrl(bundle, plan["goal"][0]["reference"]);
  EXPECT_EQ(goal["description"]["text"], "Get back to college three days a week by half term");
  EXPECT_EQ(goal["lifecycleStatus"], "active");
  EXPECT_EQ(goal["achievementStatus"]["coding"][0]["code"], "in-progress");
  EXPECT_EQ(goal["target"][0]["dueDate"], "2026-04-12");
  EXPECT_EQ(goal["extension"][0]["valueString"], "College wellbeing team");
  const json step = ActivitiesWithCode(plan, "goal-step")[0]["detail"];
  EXPECT_EQ(step["description"], "Go in for the morning on Mondays and Wednesdays");
  EXPECT_EQ(step["goal"][0], plan["goal"][0]);

  const json action = ActivitiesWithCode(plan, "care-action")[0]["detail"];
  EXPECT_EQ(action["description"], "Refer Alex to the college counsellor");
  EXPECT_EQ(action["performer"][0], (json{{"display", "Dr Okafor"}}));
  EXPECT_EQ(action["scheduledPeriod"]["end"], "2026-03-08");
  EXPECT_EQ(action["status"], "not-started");
  const json medication = ActivitiesWithCode(plan, "unacceptable-medication")[0]["detail"];
  EXPECT_EQ(medication["productCodeableConcept"]["text"], "Anything that makes me put on weight");
  EXPECT_EQ(medication["doNotPerform"], true);
  EXPECT_EQ(ActivitiesWithCode(plan, "plan-review")[0]["detail"]["scheduledPeriod"]["start"],
            "2026-03-29");

  ASSERT_EQ(plan["careTeam"].size(), 2u);
  const json key_worker = ByFullUrl(bundle, plan["careTeam"][0]["reference"]);
  EXPECT_EQ(key_worker["participant"][0]["role"][0]["coding"][0]["code"], "key-worker");
  EXPECT_EQ(ByFullUrl(bundle, key_worker["participant"][0]["member"]["reference"])["resourceType"],
            "Practitioner");
  EXPECT_EQ(key_worker["telecom"][0]["value"], "020 7946 0000");
  const json care_team = ByFullUrl(bundle, plan["careTeam"][1]["reference"]);
  EXPECT_EQ(care_team["participant"][0]["role"][0]["text"], "care coordinator");

  const json dialog = ByFullUrl(bundle, plan["supportingInfo"][0]["reference"]);
  EXPECT_EQ(dialog["questionnaire"], "https://coplan.app/fhir/Questionnaire/dialog-plus");
  EXPECT_EQ(dialog["authored"], "2026-03-01");
  EXPECT_EQ(dialog["item"][0]["linkId"], "friendships");
  EXPECT_EQ(dialog["item"][0]["item"][0]["answer"][0]["valueInteger"], 5);
  EXPECT_EQ(dialog["item"][0]["item"][1]["answer"][0]["valueBoolean"], true);
}

TEST(FhirBundleTest, DecisionLinksItsGridSureAndCollaborate) {
  const json bundle = BuildFhirBundle(DemoRecords());
  const json decision = ByCoplanName(bundle, "CarePlan", kDecision);
  EXPECT_EQ(decision["category"][0]["coding"][0]["code"], "shared-decision");
  EXPECT_EQ(decision["instantiatesCanonical"][0], "https://coplan.app/fhir/optionGrids/low-mood|2");
  const json made = ActivitiesWithCode(decision, "decision")[0];
  EXPECT_EQ(made["detail"]["description"], "Talking therapy (CBT)");
  EXPECT_EQ(made["detail"]["status"], "completed");
  EXPECT_EQ(made["progress"][0]["text"], "Start after half term");
  EXPECT_EQ(
      ActivitiesWithCode(decision, "decision-follow-up")[0]["detail"]["scheduledPeriod"]["start"],
      "2026-04-20");

  const json grid = ByCoplanName(bundle, "PlanDefinition", kGridVersion);
  EXPECT_EQ(grid["url"], "https://coplan.app/fhir/optionGrids/low-mood");
  EXPECT_EQ(grid["version"], "2");
  EXPECT_EQ(grid["action"][0]["action"][0]["title"], "Talking therapy (CBT)");
  EXPECT_EQ(grid["action"][0]["action"][0]["action"][0]["description"],
            "Usually 6 to 12 weekly sessions");
  EXPECT_EQ(grid["relatedArtifact"][0]["citation"], "NICE guideline NG222 (2022)");

  std::vector<json> responses;
  for (const json& info : decision["supportingInfo"]) {
    responses.push_back(ByFullUrl(bundle, info["reference"]));
  }
  ASSERT_EQ(responses.size(), 3u);
  const json& sure = responses[0];
  EXPECT_EQ(sure["questionnaire"], "https://coplan.app/fhir/Questionnaire/sure");
  EXPECT_EQ(sure["status"], "completed");
  EXPECT_EQ(sure["item"][2],
            (json{{"linkId", "sure-what-matters"}, {"answer", {{{"valueBoolean", false}}}}}));
  EXPECT_EQ(sure["item"][4]["answer"][0]["valueInteger"], 3);
  const json& guide = responses[1];
  EXPECT_EQ(guide["item"][1]["item"][0]["answer"][0]["valueString"],
            "How long does it take to help?");
  EXPECT_EQ(guide["item"][1]["item"][1]["answer"][0]["valueInteger"], 5);
  const json& collaborate = responses[2];
  EXPECT_EQ(collaborate["questionnaire"], "https://coplan.app/fhir/Questionnaire/collaborate");
  EXPECT_EQ(collaborate["item"][0]["answer"][0]["valueInteger"], 9);
  EXPECT_EQ(collaborate["authored"], "2026-03-03T12:15:30.25Z");
  EXPECT_EQ(Resources(bundle, "Questionnaire").size(), 4u);
}

TEST(FhirBundleTest, GrantsAndProxiesAreConsents) {
  const json bundle = BuildFhirBundle(DemoRecords());
  const json grant = ByCoplanName(bundle, "Consent", "people/alex/grants/g-mum");
  EXPECT_EQ(grant["status"], "active");
  EXPECT_EQ(grant["scope"]["coding"][0]["code"], "patient-privacy");
  EXPECT_EQ(grant["provision"]["type"], "permit");
  EXPECT_EQ(ByFullUrl(bundle,
                      grant["provision"]["actor"][0]["reference"]["reference"])["name"][0]["text"],
            "Jordan Morgan");
  EXPECT_EQ(ByFullUrl(bundle, grant["provision"]["data"][0]["reference"]["reference"])["title"],
            "When things get really hard");
  EXPECT_EQ(grant["provision"]["code"][0]["coding"][0]["code"], "decision-record");
  EXPECT_EQ(grant["provision"]["action"].size(), 1u);
  const json invitation = ByCoplanName(bundle, "Consent", "people/alex/grants/g-invite");
  EXPECT_EQ(invitation["status"], "proposed");
  EXPECT_FALSE(invitation["provision"].contains("actor"));
  EXPECT_EQ(invitation["provision"]["action"].size(), 2u);  // read and edit

  const json proxy = ByCoplanName(bundle, "Consent", "people/alex/proxyAccesses/px-1");
  EXPECT_EQ(proxy["policyRule"]["coding"][0]["code"], "proxy-by-staff");
  EXPECT_EQ(proxy["provision"]["actor"][0]["role"]["coding"][0]["code"], "GUARD");
  const json competence = proxy["extension"][0];
  EXPECT_EQ(competence["extension"][0]["valueCoding"]["code"], "not-competent");
  EXPECT_EQ(competence["extension"][1]["valueString"],
            "Alex asked for Mum to help manage appointments");
}

TEST(FhirBundleTest, RevisionsAndSignOffsAreProvenance) {
  const json bundle = BuildFhirBundle(DemoRecords());
  const std::vector<json> provenance = Resources(bundle, "Provenance");
  ASSERT_EQ(provenance.size(), 5u);  // three revisions, two sign-offs
  const std::string crisis_plan_urn = absl::StrCat(
      "urn:uuid:", ByCoplanName(bundle, "CarePlan", kCrisisPlan)["id"].get<std::string>());
  for (const json& record : provenance) {
    EXPECT_EQ(record["target"][0]["reference"], crisis_plan_urn);
  }
  EXPECT_EQ(provenance[0]["activity"]["coding"][0]["code"], "CREATE");
  EXPECT_EQ(provenance[0]["recorded"], "2026-03-01T10:15:30.25Z");
  EXPECT_EQ(provenance[2]["agent"][0]["who"]["display"], "Dr Sam Okafor");
  EXPECT_EQ(provenance[4]["agent"][0]["type"]["coding"][0]["code"], "attester");
  EXPECT_EQ(provenance[4]["agent"][0]["role"][0]["coding"][0]["code"], "clinician");
  EXPECT_EQ(provenance[4]["extension"][0]["valueInteger"], 3);
}

TEST(FhirBundleTest, AccessLogIsAuditEventsObservedByTheServer) {
  const json bundle = BuildFhirBundle(DemoRecords());
  const std::vector<json> events = Resources(bundle, "AuditEvent");
  ASSERT_EQ(events.size(), 4u);
  const std::vector<json> devices = Resources(bundle, "Device");
  ASSERT_EQ(devices.size(), 1u);
  for (const json& event : events) {
    EXPECT_EQ(event["source"]["observer"]["reference"],
              absl::StrCat("urn:uuid:", devices[0]["id"].get<std::string>()));
  }
  EXPECT_EQ(events[0]["action"], "R");
  EXPECT_EQ(events[0]["outcome"], "0");
  EXPECT_EQ(events[0]["agent"][0]["name"], "Jordan Morgan");
  EXPECT_EQ(ByFullUrl(bundle, events[0]["entity"][0]["what"]["reference"])["title"],
            "When things get really hard");
  EXPECT_EQ(events[1]["outcome"], "4");
  EXPECT_EQ(events[2]["entity"][2]["description"], "Given access to the records");
  EXPECT_EQ(events[3]["type"]["code"], "110114");
  EXPECT_EQ(events[3]["subtype"][0]["code"], "110122");
}

TEST(FhirBundleTest, EveryReferenceResolvesAndNothingIsEmpty) {
  const json bundle = BuildFhirBundle(DemoRecords());
  ExpectReferencesResolve(bundle);
  ExpectNoEmptyValues(bundle, "Bundle");
}

TEST(FhirBundleTest, IdsAreStableAcrossExports) {
  PersonRecords records = DemoRecords();
  const json first = BuildFhirBundle(records);
  EXPECT_EQ(first, BuildFhirBundle(records));
  // Another export, later and with more in it: the same records keep their ids.
  records.export_time += absl::Hours(24);
  AddText(records.plans[0].mutable_crisis_plan()->mutable_warning_signs(), "w-2", "New sign");
  records.access_events.clear();
  const json second = BuildFhirBundle(records);
  for (const char* name : {kCrisisPlan, kCarePlan, kDecision}) {
    EXPECT_EQ(ByCoplanName(first, "CarePlan", name)["id"],
              ByCoplanName(second, "CarePlan", name)["id"]);
  }
  EXPECT_EQ(Resources(first, "Patient")[0]["id"], Resources(second, "Patient")[0]["id"]);
  EXPECT_EQ(ByCoplanName(first, "Practitioner", kClinician)["id"],
            ByCoplanName(second, "Practitioner", kClinician)["id"]);
  EXPECT_NE(first["id"], second["id"]);  // the export itself is another one
}

TEST(FhirBundleTest, EmptyRecordsGiveAValidBundle) {
  PersonRecords records;
  records.person = MakePerson(kPerson, "Alex", false);
  const json bundle = BuildFhirBundle(records);
  ASSERT_EQ(bundle["entry"].size(), 2u);  // the Patient and the Coplan server
  ExpectNoEmptyValues(bundle, "Bundle");
  const json patient = Resources(bundle, "Patient")[0];
  EXPECT_EQ(patient["identifier"].size(), 1u);  // no NHS number
}

// --- Randomized records -----------------------------------------------------------------

class RandomRecords {
 public:
  explicit RandomRecords(uint32_t seed) : random_(seed) {}

  PersonRecords Make(int index) {
    PersonRecords records;
    records.person = MakePerson(kPerson, Text(), false);
    if (Chance(2)) records.person.set_nhs_number("943 476 5919");
    if (Chance(2))
      *records.person.mutable_birth_date() = Day(2000 + Int(0, 15), Int(1, 12), Int(1, 28));
    records.people[kClinician] = MakePerson(kClinician, Text(), true);
    records.people[kMum] = MakePerson(kMum, Chance(4) ? "" : Text(), false);
    records.export_time = absl::FromUnixSeconds(1767225600 + index * 86400);
    const int plans = Int(0, 3);
    for (int i = 0; i < plans; ++i) records.plans.push_back(Plan(i));
    if (Chance(2)) {
      records.grid_versions[kGridVersion] = DemoGridVersion();
      records.grid_versions[kGridVersion].mutable_grid()->set_title(Text());
      records.grid_versions[kGridVersion].mutable_grid()->add_options()->set_title(Text());
    }
    const int decisions = Int(0, 2);
    for (int i = 0; i < decisions; ++i) records.decisions.push_back(Decision(i));
    for (const v1::DecisionRecord& decision : records.decisions) {
      if (Chance(2)) continue;
      v1::CollaborateResponse response;
      response.set_name(absl::StrCat(decision.name(), "/collaborateResponses/r", Int(0, 99)));
      response.set_clinician(Chance(3) ? "people/unknown-clinician" : kClinician);
      response.set_understand_health_issues(Int(0, 9));
      response.set_listen_to_what_matters(Int(0, 9));
      response.set_include_what_matters(Int(0, 9));
      if (Chance(2)) *response.mutable_create_time() = Time();
      records.collaborate_responses.push_back(response);
    }
    if (Chance(2)) {
      v1::CareTeamMember member;
      member.set_clinician(Chance(2) ? kClinician : "people/agency-nurse");
      if (Chance(2)) member.set_role(Text());
      records.care_team.push_back(member);
    }
    for (int i = Int(0, 2); i > 0; --i) records.grants_given.push_back(Grant(i, records));
    if (Chance(2)) records.proxies.push_back(Proxy());
    for (const v1::Plan& plan : records.plans) records.histories.push_back(History(plan.name()));
    for (int i = Int(0, 4); i > 0; --i) records.access_events.push_back(Event(i, records));
    return records;
  }

 private:
  int Int(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool Chance(int one_in) { return Int(1, one_in) == 1; }

  google::protobuf::Timestamp Time() {
    return ToTimestamp(
        absl::FromUnixMicros(int64_t{1700000000} * 1000000 + Int(0, 1 << 30) * int64_t{977}));
  }

  // Records keep time in order: what ends (expiry, revocation, refusal) ends after it began.
  google::protobuf::Timestamp Later(const google::protobuf::Timestamp& start) {
    return ToTimestamp(FromTimestamp(start) + absl::Microseconds(Int(1, 1 << 30)));
  }

  std::string Text() {
    static const std::vector<std::string> kTexts = {
        "I stop replying to my friends",
        "😀🧠💙 Biscuit 🐕‍🦺 and 👩🏽‍⚕️",
        "أشعر بالقلق عندما أكون وحدي",
        "אני רוצה לדבר עם אמא שלי",
        "mixed: call אמא then ماما 📞",
        "Zoë, Ångström, e\u0301 a\u0308 o\u0302\u0323 Z\u0351\u0357\u0350",
        "<b>not markup</b> & \"quotes\" 'single' \\ back\\slash",
        "line one\nline two\ttabbed",
        "  leading and trailing spaces  ",
        "Ⅻ ﬁ ß 中文 日本語 한국어 ไทย",
    };
    if (Chance(6)) {  // a very long item: 2000 characters, many of them multi-byte
      std::string long_text;
      for (int i = 0; i < 2000; ++i) long_text += (i % 3 == 0) ? "é" : (i % 3 == 1) ? "ש" : "a";
      return long_text;
    }
    return kTexts[Int(0, static_cast<int>(kTexts.size()) - 1)];
  }

  std::string OptionalText() { return Chance(3) ? "" : Text(); }

  google::type::Date OptionalDate() {
    if (Chance(2)) return google::type::Date();
    return Day(2026, Int(1, 12), Int(1, 28));
  }

  void AddItems(google::protobuf::RepeatedPtrField<v1::TextItem>* list, int max) {
    for (int i = Int(0, max); i > 0; --i) AddText(list, absl::StrCat("i", i), Text());
  }

  v1::Plan Plan(int index) {
    v1::Plan plan;
    plan.set_name(absl::StrCat(kPerson, "/plans/p", index));
    plan.set_title(OptionalText());
    if (Chance(2)) *plan.mutable_create_time() = Time();
    if (Chance(2)) plan.set_creator(Chance(2) ? kPerson : kClinician);
    if (Chance(2)) plan.set_last_editor(Chance(2) ? kMum : kClinician);
    if (Chance(2)) {
      v1::SignOff* sign_off = plan.mutable_agreement()->add_sign_offs();
      sign_off->set_person(Chance(2) ? kPerson : kClinician);
      sign_off->set_role(Chance(2) ? v1::SIGN_OFF_ROLE_SERVICE_USER : v1::SIGN_OFF_ROLE_CLINICIAN);
      sign_off->set_revision(Int(1, 5));
      *sign_off->mutable_sign_time() = Time();
      plan.mutable_agreement()->set_agreed_revision(Int(0, 5));
    }
    if (Chance(2)) {
      CrisisPlan(plan.mutable_crisis_plan());
    } else {
      CarePlan(plan.mutable_care_plan());
    }
    return plan;
  }

  void CrisisPlan(v1::CrisisPlan* crisis) {
    AddItems(crisis->mutable_warning_signs(), 3);
    AddItems(crisis->mutable_coping_strategies(), 3);
    AddItems(crisis->mutable_distractions(), 2);
    for (int i = Int(0, 2); i > 0; --i) {
      v1::Contact* contact = crisis->add_help_contacts();
      contact->set_id(absl::StrCat("h", i));
      contact->set_name(Text());
      contact->set_relationship(OptionalText());
      if (Chance(2)) contact->set_phone("07700 900123");
      if (Chance(2)) contact->set_email("someone@example.org");
      contact->set_notes(OptionalText());
    }
    for (int i = Int(0, 3); i > 0; --i) {
      v1::ServiceContact* service = crisis->add_professional_contacts();
      service->set_id(absl::StrCat("s", i));
      service->set_name(Text());
      if (Chance(2)) service->set_phone("116 123");
      service->set_hours(OptionalText());
      service->set_crisis_service(Chance(2));
      if (Chance(2)) service->set_website("https://www.example.org/help");
      service->set_notes(OptionalText());
    }
    AddItems(crisis->mutable_safe_environment(), 2);
    AddItems(crisis->mutable_reasons_for_living(), 3);
    for (int i = Int(0, 2); i > 0; --i) {
      v1::CrisisPreference* wish =
          Chance(2) ? crisis->add_wishes_if_unwell() : crisis->add_refusals_if_unwell();
      wish->set_id(absl::StrCat("pr", i));
      wish->set_topic(static_cast<v1::PreferenceTopic>(Int(0, 4)));
      wish->set_text(Text());
    }
    AddItems(crisis->mutable_practical_arrangements(), 2);
    AddItems(crisis->mutable_who_may_see(), 2);
    if (Chance(3)) {
      v1::AdvanceDecision* decision = crisis->mutable_advance_decision();
      decision->set_treatment_refused(Text());
      decision->set_circumstances(OptionalText());
      decision->set_applies_even_if_life_at_risk(Chance(2));
      decision->set_signed_by(OptionalText());
      *decision->mutable_signed_on() = OptionalDate();
      decision->set_witnessed_by(OptionalText());
      *decision->mutable_witnessed_on() = OptionalDate();
    }
  }

  void CarePlan(v1::CarePlan* care) {
    care->mutable_about_me()->set_what_matters(OptionalText());
    care->mutable_about_me()->set_communication(OptionalText());
    AddItems(care->mutable_about_me()->mutable_strengths(), 2);
    for (int i = Int(0, 3); i > 0; --i) {
      v1::Goal* goal = care->add_goals();
      goal->set_id(absl::StrCat("g", i));
      goal->set_description(Text());
      AddItems(goal->mutable_steps(), 3);
      AddItems(goal->mutable_supporters(), 2);
      *goal->mutable_target_date() = OptionalDate();
      goal->set_status(static_cast<v1::GoalStatus>(Int(0, 4)));
    }
    for (int i = Int(0, 3); i > 0; --i) {
      v1::CareAction* action = care->add_actions();
      action->set_id(absl::StrCat("a", i));
      action->set_description(Text());
      action->set_responsible(OptionalText());
      *action->mutable_due_date() = OptionalDate();
      action->set_status(static_cast<v1::ActionStatus>(Int(0, 3)));
    }
    for (int i = Int(0, 2); i > 0; --i) {
      v1::MedicationPreference* medication =
          Chance(2) ? care->add_medication_preferences() : care->add_unacceptable_medications();
      medication->set_id(absl::StrCat("m", i));
      medication->set_medication(Text());
      medication->set_notes(OptionalText());
    }
    if (Chance(2)) {
      v1::KeyWorker* key_worker = care->mutable_key_worker();
      key_worker->set_display_name(OptionalText());
      if (Chance(2)) key_worker->set_person(Chance(2) ? kClinician : "people/new-key-worker");
      if (Chance(2)) key_worker->set_phone("020 7946 0000");
      if (Chance(3)) key_worker->set_email("key.worker@nhs.net");
    }
    *care->mutable_review_date() = OptionalDate();
    if (Chance(2)) {
      *care->mutable_dialog()->mutable_assessed_on() = OptionalDate();
      for (int i = Int(0, 11); i > 0; --i) {
        v1::DialogRating* rating = care->mutable_dialog()->add_ratings();
        rating->set_domain(static_cast<v1::DialogDomain>(Int(0, 11)));
        rating->set_score(Int(0, 7));
        rating->set_wants_more_help(Chance(2));
      }
    }
  }

  v1::DecisionRecord Decision(int index) {
    v1::DecisionRecord decision;
    decision.set_name(absl::StrCat(kPerson, "/decisions/d", index));
    decision.set_option_grid_version(Chance(4) ? "optionGrids/gone/versions/1" : kGridVersion);
    decision.set_title(OptionalText());
    decision.set_stage(static_cast<v1::DecisionStage>(Int(0, 4)));
    for (int i = Int(0, 2); i > 0; --i) {
      v1::RowImportance* importance = decision.add_importances();
      importance->set_question_id(Chance(2) ? "q-1" : "q-missing");
      importance->set_importance(Int(0, 5));
      importance->set_note(OptionalText());
    }
    for (int i = Int(0, 2); i > 0; --i) {
      v1::OptionNote* note = decision.add_option_notes();
      note->set_option_id(Chance(2) ? "o-1" : "o-9");
      note->set_note(OptionalText());
    }
    if (Chance(2)) decision.set_leaning_option_id("o-2");
    decision.mutable_who_decides()->set_mode(static_cast<v1::DecisionMakerMode>(Int(0, 3)));
    AddItems(decision.mutable_who_decides()->mutable_people(), 2);
    v1::SureTest* sure = decision.mutable_sure();
    sure->set_sure_of_best_choice(static_cast<v1::SureAnswer>(Int(0, 2)));
    sure->set_understands_benefits_and_risks(static_cast<v1::SureAnswer>(Int(0, 2)));
    sure->set_clear_about_what_matters(static_cast<v1::SureAnswer>(Int(0, 2)));
    sure->set_enough_support(static_cast<v1::SureAnswer>(Int(0, 2)));
    sure->set_complete(Chance(2));
    sure->set_score(Int(0, 4));
    if (Chance(2)) {
      decision.mutable_outcome()->set_option_id(Chance(2) ? "o-1" : "o-9");
      *decision.mutable_outcome()->mutable_decided_on() = OptionalDate();
      AddItems(decision.mutable_outcome()->mutable_participants(), 2);
      decision.mutable_outcome()->set_notes(OptionalText());
    }
    *decision.mutable_follow_up_date() = OptionalDate();
    decision.set_status(static_cast<v1::DecisionStatus>(Int(0, 4)));
    return decision;
  }

  v1::Grant Grant(int index, const PersonRecords& records) {
    v1::Grant grant;
    grant.set_name(absl::StrCat(kPerson, "/grants/g", index));
    if (Chance(3)) grant.set_grantee(Chance(2) ? kMum : "people/friend");
    grant.set_grantee_display_name(OptionalText());
    for (const v1::Plan& plan : records.plans) {
      if (Chance(2)) grant.add_documents(plan.name());
    }
    if (Chance(3)) grant.add_documents(absl::StrCat(kPerson, "/plans/deleted"));
    if (Chance(2)) grant.add_document_kinds(static_cast<v1::DocumentKind>(Int(1, 3)));
    grant.set_access(static_cast<v1::AccessLevel>(Int(0, 2)));
    grant.set_state(static_cast<v1::GrantState>(Int(0, 4)));
    const google::protobuf::Timestamp created = Time();
    if (Chance(2)) *grant.mutable_create_time() = created;
    if (Chance(2)) *grant.mutable_expire_time() = Later(created);
    if (Chance(3)) *grant.mutable_revoke_time() = Later(created);
    return grant;
  }

  v1::ProxyAccess Proxy() {
    v1::ProxyAccess proxy;
    proxy.set_name(absl::StrCat(kPerson, "/proxyAccesses/x", Int(0, 9)));
    proxy.set_proxy(Chance(2) ? kMum : "people/dad");
    proxy.set_access(static_cast<v1::AccessLevel>(Int(0, 2)));
    proxy.set_state(static_cast<v1::ProxyState>(Int(0, 5)));
    proxy.set_granted_by_person(Chance(2));
    const google::protobuf::Timestamp created = Time();
    if (Chance(2)) *proxy.mutable_create_time() = created;
    if (Chance(3)) *proxy.mutable_refuse_time() = Later(created);
    proxy.set_competence(static_cast<v1::CompetenceDecision>(Int(0, 2)));
    proxy.set_competence_reason(OptionalText());
    if (Chance(2)) proxy.set_competence_decided_by(kClinician);
    if (Chance(2)) *proxy.mutable_competence_decision_time() = Time();
    return proxy;
  }

  DocumentHistory History(const std::string& document) {
    DocumentHistory history;
    history.document = document;
    for (int n = 1; n <= Int(0, 3); ++n) {
      v1::Revision revision;
      revision.set_name(absl::StrCat(document, "/revisions/", n));
      revision.set_revision(n);
      revision.set_kind(static_cast<v1::RevisionKind>(Int(0, 5)));
      if (!Chance(4)) revision.set_author(Chance(2) ? kPerson : "people/former-editor");
      if (!Chance(4)) *revision.mutable_create_time() = Time();
      if (Chance(2)) revision.add_changed_paths("title");
      history.revisions.push_back(revision);
    }
    return history;
  }

  v1::AccessEvent Event(int index, const PersonRecords& records) {
    v1::AccessEvent event;
    event.set_sequence(index * 1000 + Int(0, 999));
    if (!Chance(4)) *event.mutable_event_time() = Time();
    if (!Chance(4)) event.set_actor(Chance(2) ? kMum : "people/someone");
    event.set_actor_display_name(OptionalText());
    if (!Chance(4)) event.set_on_behalf_of(kPerson);
    event.set_action(static_cast<v1::AuditAction>(Int(0, 10)));
    if (Chance(2) && !records.plans.empty()) {
      event.set_resource(records.plans[0].name());
    } else if (Chance(2)) {
      event.set_resource(absl::StrCat(kPerson, "/plans/deleted/revisions/2"));
    }
    event.set_outcome(static_cast<v1::AuditOutcome>(Int(0, 2)));
    if (Chance(2)) event.set_method("coplan.v1.PlanService/GetPlan");
    if (Chance(3)) event.set_revision_from(Int(1, 3));
    if (Chance(3)) event.set_revision_to(Int(3, 6));
    if (Chance(3)) event.set_access_given_to(kMum);
    return event;
  }

  std::mt19937 random_;
};

TEST(FhirBundleTest, RandomizedRecordsGiveValidBundles) {
  RandomRecords random(20260305);
  std::vector<std::string> paths = {WriteJson(BuildFhirBundle(DemoRecords()), "demo.json")};
  for (int i = 0; i < 20; ++i) {
    const json bundle = BuildFhirBundle(random.Make(i));
    SCOPED_TRACE(absl::StrCat("random bundle ", i));
    ExpectReferencesResolve(bundle);
    ExpectNoEmptyValues(bundle, "Bundle");
    paths.push_back(WriteJson(bundle, absl::StrCat("random-", i, ".json")));
  }
  ExpectValid(kStructureValidator, paths);
  ExpectValid(kCodeValidator, paths);
}

// --- The validators can fail ------------------------------------------------------------

json CarePlanOf(json& bundle) {
  for (json& entry : bundle["entry"]) {
    if (entry["resource"]["resourceType"] == "CarePlan") return entry["resource"];
  }
  return json::object();
}

void ReplaceFirstCarePlan(json& bundle, const json& care_plan) {
  for (json& entry : bundle["entry"]) {
    if (entry["resource"]["resourceType"] == "CarePlan") {
      entry["resource"] = care_plan;
      return;
    }
  }
}

TEST(FhirBundleTest, ValidatorsRejectBrokenBundles) {
  const json good = BuildFhirBundle(DemoRecords());

  json bogus_status = good;
  json care_plan = CarePlanOf(bogus_status);
  care_plan["status"] = "bogus";
  ReplaceFirstCarePlan(bogus_status, care_plan);
  ExpectRejected(kCodeValidator, WriteJson(bogus_status, "bogus-status.json"), "bogus");

  json missing_subject = good;
  care_plan = CarePlanOf(missing_subject);
  care_plan.erase("subject");
  ReplaceFirstCarePlan(missing_subject, care_plan);
  const std::string missing = WriteJson(missing_subject, "missing-subject.json");
  ExpectRejected(kStructureValidator, missing, "subject");
  ExpectRejected(kCodeValidator, missing, "subject");

  json unknown_field = good;
  care_plan = CarePlanOf(unknown_field);
  care_plan["mood"] = "bright";
  ReplaceFirstCarePlan(unknown_field, care_plan);
  ExpectRejected(kStructureValidator, WriteJson(unknown_field, "unknown-field.json"), "mood");
}

}  // namespace
}  // namespace coplan
