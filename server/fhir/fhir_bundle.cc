#include "server/fhir/fhir_bundle.h"

#include <cctype>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/fhir/fhir_codes.h"
#include "server/fhir/fhir_json.h"
#include "server/fhir/fhir_questionnaires.h"

namespace coplan {
namespace fhir {
namespace {

using nlohmann::json;
// One-element arrays are always written json::array({x}): a braced {x} is an array of x
// when gcc compiles it but a copy of x when clang does (the sanitizer build caught it).

// What the Bundle says about a person other than the patient.
struct MentionedPerson {
  std::string display_name;
  bool clinician = false;
  bool guardian = false;
};

json AnswerItem(const std::string& link_id, const char* value_key, json value) {
  return {{"linkId", link_id}, {"answer", json::array({{{value_key, std::move(value)}}})}};
}

json StringAnswerItem(const std::string& link_id, const std::string& value) {
  if (value.empty()) return json::object();
  return AnswerItem(link_id, "valueString", value);
}

// A CarePlan activity of one plan part: what it is (code), its status, the person's words.
json Activity(const Code& section, const char* status, const std::string& description) {
  json detail = {{"code", ToConcept(section)}, {"status", status}};
  SetString(detail, "description", description);
  return {{"detail", std::move(detail)}};
}

// Plan parts that are statements rather than tasks have no status of their own.
json StatementActivity(const Code& section, const std::string& text) {
  return Activity(section, "unknown", text);
}

json Period(const std::string& start, const std::string& end) {
  json period = json::object();
  SetString(period, "start", start);
  SetString(period, "end", end);
  return period;
}

json ContactPoint(const char* system, const std::string& value) {
  if (value.empty()) return json::object();
  return {{"system", system}, {"value", value}};
}

std::string Digits(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  }
  return digits;
}

bool HasWhitespace(const std::string& text) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

// "optionGrids/{grid}/versions/{version}" as a PlanDefinition's canonical URL and version.
struct GridCanonical {
  std::string url;
  std::string version;
  std::string Versioned() const { return version.empty() ? url : absl::StrCat(url, "|", version); }
};

GridCanonical CanonicalOfGridVersion(const std::string& version_name) {
  const std::string versions = "/versions/";
  const size_t at = version_name.find(versions);
  if (at == std::string::npos) return {absl::StrCat(kCoplanFhirBase, version_name), ""};
  return {absl::StrCat(kCoplanFhirBase, version_name.substr(0, at)),
          version_name.substr(at + versions.size())};
}

std::string ItemKey(const std::string& parent, absl::string_view list, const std::string& id,
                    int index) {
  // Item ids are stable; the index only stands in for an id that is missing.
  return id.empty() ? absl::StrCat(parent, "#", list, "@", index)
                    : absl::StrCat(parent, "#", list, "/", id);
}

class BundleBuilder {
 public:
  explicit BundleBuilder(const PersonRecords& records) : records_(records) {}

  json Build() {
    patient_urn_ = Allocate(records_.person.name());
    device_urn_ = Allocate("coplan-server");
    AllocateNamedResources();
    if (!records_.care_team.empty()) {
      care_team_urn_ = Allocate(absl::StrCat(records_.person.name(), "#care-team"));
      AddEntry(care_team_urn_, CareTeamOfMembers());
    }
    for (const v1::Plan& plan : records_.plans) AddPlan(plan);
    for (const v1::DecisionRecord& decision : records_.decisions) AddDecision(decision);
    for (const auto& [name, version] : records_.grid_versions) AddGridVersion(version);
    for (const v1::CollaborateResponse& response : records_.collaborate_responses) {
      AddCollaborateResponse(response);
    }
    for (const v1::Grant& grant : records_.grants_given) AddGrant(grant);
    for (const v1::ProxyAccess& proxy : records_.proxies) AddProxy(proxy);
    for (const DocumentHistory& history : records_.histories) AddHistory(history);
    for (const v1::Plan& plan : records_.plans) AddSignOffs(plan.name(), plan.agreement());
    for (const v1::DecisionRecord& decision : records_.decisions) {
      AddSignOffs(decision.name(), decision.agreement());
    }
    for (const v1::AccessEvent& event : records_.access_events) AddAccessEvent(event);
    return Assemble();
  }

 private:
  // --- Identity and references -----------------------------------------------------------

  // A fullUrl for `key` that no other entry has: the key's own unless that is taken
  // (only by malformed records, e.g. two list items with one id).
  std::string Allocate(const std::string& key) {
    std::string urn = UrnUuid(key);
    for (int n = 2; !allocated_.insert(urn).second; ++n) {
      urn = UrnUuid(absl::StrCat(key, "\n", n));
    }
    return urn;
  }

  // Resources with a Coplan name that other resources (grants, the access log) refer to.
  void AllocateNamedResources() {
    for (const v1::Plan& plan : records_.plans) NameResource(plan.name());
    for (const v1::DecisionRecord& decision : records_.decisions) NameResource(decision.name());
    for (const auto& [name, version] : records_.grid_versions) NameResource(name);
    for (const v1::CollaborateResponse& response : records_.collaborate_responses) {
      NameResource(response.name());
    }
    for (const v1::Grant& grant : records_.grants_given) NameResource(grant.name());
    for (const v1::ProxyAccess& proxy : records_.proxies) NameResource(proxy.name());
  }

  void NameResource(const std::string& name) {
    if (!resource_urns_.count(name)) resource_urns_[name] = Allocate(name);
  }

  std::string UrnOf(const std::string& name) const {
    auto it = resource_urns_.find(name);
    return it == resource_urns_.end() ? "" : it->second;
  }

  // A reference to a Coplan resource: to its entry when the Bundle has one, otherwise by its
  // Coplan name (so that it still says what it was about).
  json ResourceRef(const std::string& name) {
    if (name.empty()) return json::object();
    const bool person = absl::StartsWith(name, "people/") && name.find('/', 7) == std::string::npos;
    if (person) {
      return PersonRef(name);
    }
    const std::string urn = UrnOf(name);
    if (!urn.empty()) return Reference(urn);
    return {{"identifier", CoplanIdentifier(name)}};
  }

  json PatientRef() const {
    json reference = Reference(patient_urn_);
    SetString(reference, "display", records_.person.display_name());
    return reference;
  }

  // A reference to a person, who is then in the Bundle: a Practitioner when a clinician,
  // otherwise a RelatedPerson. `display` and `clinician` are what the mention itself says,
  // used when the records' people do not say it.
  json PersonRef(const std::string& name, const std::string& display = "", bool clinician = false) {
    if (name.empty()) return DisplayReference(display);
    if (name == records_.person.name()) return PatientRef();
    auto [it, inserted] = mentioned_.try_emplace(name);
    MentionedPerson& person = it->second;
    if (inserted) {
      person_urns_[name] = Allocate(name);
      auto known = records_.people.find(name);
      if (known != records_.people.end()) {
        person.display_name = known->second.display_name();
        person.clinician = known->second.clinician();
        known_people_.insert(name);
      }
    }
    if (!known_people_.count(name)) {
      if (person.display_name.empty()) person.display_name = display;
      person.clinician = person.clinician || clinician;
    }
    json reference = Reference(person_urns_[name]);
    SetString(reference, "display", person.display_name);
    return reference;
  }

  // Who acted in an access event. The log also names people who are nobody to the person
  // (an administrator, someone refused): they are not made the person's RelatedPerson, only
  // named, by their Coplan identifier.
  json ActorRef(const std::string& name, const std::string& display) {
    if (name.empty() || name == records_.person.name() || records_.people.count(name)) {
      return PersonRef(name, display);
    }
    json reference = {{"identifier", CoplanIdentifier(name)}};
    SetString(reference, "display", display);
    return reference;
  }

  void AddEntry(const std::string& urn, json resource) {
    resource["id"] = IdOfUrn(urn);
    entries_.push_back({{"fullUrl", urn}, {"resource", std::move(resource)}});
  }

  // --- People -------------------------------------------------------------------------------

  json Patient() const {
    const v1::Person& person = records_.person;
    json patient = {{"resourceType", "Patient"}, {"id", IdOfUrn(patient_urn_)}};
    const std::string nhs_number = Digits(person.nhs_number());
    if (!nhs_number.empty()) {
      Append(patient, "identifier", {{"system", kNhsNumberSystem}, {"value", nhs_number}});
    }
    Append(patient, "identifier", CoplanIdentifier(person.name()));
    if (!person.display_name().empty()) {
      Append(patient, "name", {{"text", person.display_name()}});
    }
    SetString(patient, "birthDate", FhirDate(person.birth_date()));
    return patient;
  }

  json MentionedPersonResource(const std::string& name, const MentionedPerson& person) const {
    json resource = {{"resourceType", person.clinician ? "Practitioner" : "RelatedPerson"},
                     {"id", IdOfUrn(person_urns_.at(name))}};
    Append(resource, "identifier", CoplanIdentifier(name));
    if (!person.clinician) {
      resource["patient"] = PatientRef();
      if (person.guardian) Append(resource, "relationship", ToConcept(kGuardian));
    }
    if (!person.display_name.empty()) Append(resource, "name", {{"text", person.display_name}});
    return resource;
  }

  json Device() const {
    return {
        {"resourceType", "Device"},
        {"id", IdOfUrn(device_urn_)},
        {"deviceName", json::array({{{"name", "Coplan server"}, {"type", "user-friendly-name"}}})}};
  }

  // --- Plans ------------------------------------------------------------------------------

  // What every CarePlan of a document has: its name, title, subject, author and agreement.
  template <typename Document>
  json DocumentCarePlan(const Document& document, const Code& category, const char* status) {
    json plan = {{"resourceType", "CarePlan"},
                 {"status", status},
                 {"intent", "plan"},
                 {"category", json::array({ToConcept(category)})},
                 {"subject", PatientRef()}};
    Append(plan, "identifier", CoplanIdentifier(document.name()));
    SetString(plan, "title", document.title());
    SetString(plan, "created", FhirInstant(document.create_time()));
    if (!document.creator().empty()) plan["author"] = PersonRef(document.creator());
    if (!document.last_editor().empty() && document.last_editor() != document.creator()) {
      Append(plan, "contributor", PersonRef(document.last_editor()));
    }
    if (document.agreement().agreed_revision() > 0) {
      Append(plan, "extension",
             Extension(kAgreedRevisionExtension, "valueInteger",
                       static_cast<int32_t>(document.agreement().agreed_revision())));
    }
    return plan;
  }

  void AddPlan(const v1::Plan& plan) {
    const std::string urn = UrnOf(plan.name());
    json care_plan;
    if (plan.has_crisis_plan()) {
      care_plan = DocumentCarePlan(plan, kMentalHealthCrisisPlan, "active");
      AddCrisisPlanParts(plan, care_plan);
    } else {
      care_plan = DocumentCarePlan(plan, kMentalHealthCarePlan, "active");
      AddCarePlanParts(plan, urn, care_plan);
    }
    AddEntry(urn, std::move(care_plan));
  }

  void AddCarePlanParts(const v1::Plan& plan, const std::string& plan_urn, json& care_plan) {
    const v1::CarePlan& content = plan.care_plan();
    Append(care_plan, "extension", AboutMe(content.about_me()));
    for (int i = 0; i < content.goals_size(); ++i) {
      const v1::Goal& goal = content.goals(i);
      const std::string goal_urn = Allocate(ItemKey(plan.name(), "goals", goal.id(), i));
      AddEntry(goal_urn, GoalResource(goal));
      Append(care_plan, "goal", Reference(goal_urn));
      for (const v1::TextItem& step : goal.steps()) {
        json activity = StatementActivity(kSectionGoalStep, step.text());
        activity["detail"]["status"] = "not-started";
        activity["detail"]["goal"] = json::array({Reference(goal_urn)});
        Append(care_plan, "activity", std::move(activity));
      }
    }
    for (const v1::CareAction& action : content.actions()) {
      json activity =
          Activity(kSectionCareAction, ActionActivityStatus(action.status()), action.description());
      Append(activity["detail"], "performer", DisplayReference(action.responsible()));
      json due = Period("", FhirDate(action.due_date()));
      if (!due.empty()) activity["detail"]["scheduledPeriod"] = std::move(due);
      Append(care_plan, "activity", std::move(activity));
    }
    for (const v1::MedicationPreference& medication : content.medication_preferences()) {
      Append(care_plan, "activity", MedicationActivity(kSectionMedicationPreference, medication));
    }
    for (const v1::MedicationPreference& medication : content.unacceptable_medications()) {
      json activity = MedicationActivity(kSectionUnacceptableMedication, medication);
      activity["detail"]["doNotPerform"] = true;
      Append(care_plan, "activity", std::move(activity));
    }
    const std::string review_date = FhirDate(content.review_date());
    if (!review_date.empty()) {
      json review = Activity(kSectionPlanReview, "scheduled", "");
      review["detail"]["scheduledPeriod"] = Period(review_date, "");
      Append(care_plan, "activity", std::move(review));
    }
    if (const std::string team = KeyWorkerTeam(plan); !team.empty()) {
      Append(care_plan, "careTeam", Reference(team));
    }
    if (!care_team_urn_.empty()) Append(care_plan, "careTeam", Reference(care_team_urn_));
    if (content.dialog().ratings_size() > 0 || IsDateSet(content.dialog().assessed_on())) {
      const std::string dialog_urn = Allocate(absl::StrCat(plan.name(), "#dialog"));
      AddEntry(dialog_urn, DialogResponse(content.dialog(), plan_urn));
      Append(care_plan, "supportingInfo", Reference(dialog_urn));
    }
  }

  static bool IsDateSet(const google::type::Date& date) { return !FhirDate(date).empty(); }

  static json AboutMe(const v1::AboutMe& about_me) {
    json extension = {{"url", kAboutMeExtension}};
    Append(extension, "extension", StringExtension("whatMatters", about_me.what_matters()));
    Append(extension, "extension", StringExtension("communication", about_me.communication()));
    for (const v1::TextItem& strength : about_me.strengths()) {
      Append(extension, "extension", StringExtension("strength", strength.text()));
    }
    if (!extension.contains("extension")) return json::object();
    return extension;
  }

  json GoalResource(const v1::Goal& goal) {
    json resource = {{"resourceType", "Goal"},
                     {"lifecycleStatus", GoalLifecycleStatus(goal.status())},
                     {"subject", PatientRef()},
                     {"expressedBy", PatientRef()}};
    if (const Code* achievement = GoalAchievement(goal.status())) {
      resource["achievementStatus"] = ToConcept(*achievement);
    }
    // Goal.description is required; a goal without words is still a goal of the plan.
    resource["description"] =
        goal.description().empty() ? ToConcept(kSectionGoal) : TextConcept(goal.description());
    const std::string target_date = FhirDate(goal.target_date());
    if (!target_date.empty()) resource["target"] = json::array({{{"dueDate", target_date}}});
    for (const v1::TextItem& supporter : goal.supporters()) {
      Append(resource, "extension", StringExtension(kGoalSupporterExtension, supporter.text()));
    }
    return resource;
  }

  static json MedicationActivity(const Code& section, const v1::MedicationPreference& medication) {
    json activity = StatementActivity(section, medication.notes());
    if (!medication.medication().empty()) {
      activity["detail"]["productCodeableConcept"] = TextConcept(medication.medication());
    }
    return activity;
  }

  // The plan's key worker as a CareTeam of one; "" when the plan names none.
  std::string KeyWorkerTeam(const v1::Plan& plan) {
    const v1::KeyWorker& key_worker = plan.care_plan().key_worker();
    if (key_worker.display_name().empty() && key_worker.person().empty() &&
        key_worker.phone().empty() && key_worker.email().empty()) {
      return "";
    }
    json participant = {{"role", json::array({ToConcept(kKeyWorkerRole)})}};
    json member = PersonRef(key_worker.person(), key_worker.display_name(), true);
    if (!member.empty()) participant["member"] = std::move(member);
    json team = {{"resourceType", "CareTeam"},
                 {"status", "active"},
                 {"name", "Key worker"},
                 {"subject", PatientRef()},
                 {"participant", json::array({std::move(participant)})}};
    // The key worker is the team's contact: CareTeam.telecom is the team's central contact.
    Append(team, "telecom", ContactPoint("phone", key_worker.phone()));
    Append(team, "telecom", ContactPoint("email", key_worker.email()));
    const std::string urn = Allocate(absl::StrCat(plan.name(), "#key-worker"));
    AddEntry(urn, std::move(team));
    return urn;
  }

  json CareTeamOfMembers() {
    json team = {{"resourceType", "CareTeam"},
                 {"status", "active"},
                 {"name", "Care team"},
                 {"subject", PatientRef()}};
    for (const v1::CareTeamMember& member : records_.care_team) {
      json role = ToConcept(kCareTeamMemberRole);
      SetString(role, "text", member.role());
      json participant = {
          {"role", json::array({std::move(role)})},
          {"member", PersonRef(member.clinician(), member.clinician_display_name(), true)}};
      json period = Period(FhirInstant(member.create_time()), "");
      if (!period.empty()) participant["period"] = std::move(period);
      Append(team, "participant", std::move(participant));
    }
    return team;
  }

  json DialogResponse(const v1::DialogAssessment& dialog, const std::string& plan_urn) {
    dialog_used_ = true;
    json response = QuestionnaireResponse(kDialogQuestionnaireUrl, "completed", plan_urn);
    SetString(response, "authored", FhirDate(dialog.assessed_on()));
    for (const v1::DialogRating& rating : dialog.ratings()) {
      const Code* domain = DialogDomainCode(rating.domain());
      if (domain == nullptr) continue;
      json group = {{"linkId", domain->code}, {"text", domain->display}};
      if (rating.score() >= 1 && rating.score() <= 7) {
        Append(group, "item",
               AnswerItem(absl::StrCat(domain->code, kDialogScoreSuffix), "valueInteger",
                          rating.score()));
      }
      Append(group, "item",
             AnswerItem(absl::StrCat(domain->code, kDialogMoreHelpSuffix), "valueBoolean",
                        rating.wants_more_help()));
      Append(response, "item", std::move(group));
    }
    return response;
  }

  json QuestionnaireResponse(const char* questionnaire, const char* status,
                             const std::string& based_on_urn) {
    json response = {{"resourceType", "QuestionnaireResponse"},
                     {"questionnaire", questionnaire},
                     {"status", status},
                     {"subject", PatientRef()},
                     {"source", PatientRef()}};
    if (!based_on_urn.empty()) response["basedOn"] = json::array({Reference(based_on_urn)});
    return response;
  }

  // --- Crisis plans ---------------------------------------------------------------------

  void AddCrisisPlanParts(const v1::Plan& plan, json& care_plan) {
    const v1::CrisisPlan& crisis = plan.crisis_plan();
    auto statements = [&care_plan](const Code& section, const auto& items) {
      for (const v1::TextItem& item : items) {
        Append(care_plan, "activity", StatementActivity(section, item.text()));
      }
    };
    statements(kSectionWarningSign, crisis.warning_signs());
    statements(kSectionCopingStrategy, crisis.coping_strategies());
    statements(kSectionDistraction, crisis.distractions());
    for (int i = 0; i < crisis.help_contacts_size(); ++i) {
      Append(care_plan, "activity", HelpContactActivity(plan.name(), crisis.help_contacts(i), i));
    }
    for (int i = 0; i < crisis.professional_contacts_size(); ++i) {
      Append(care_plan, "activity",
             ServiceContactActivity(plan.name(), crisis.professional_contacts(i), i));
    }
    statements(kSectionSafeEnvironment, crisis.safe_environment());
    statements(kSectionReasonForLiving, crisis.reasons_for_living());
    for (const v1::CrisisPreference& wish : crisis.wishes_if_unwell()) {
      Append(care_plan, "activity", PreferenceActivity(kSectionWishIfUnwell, wish));
    }
    for (const v1::CrisisPreference& refusal : crisis.refusals_if_unwell()) {
      json activity = PreferenceActivity(kSectionRefusalIfUnwell, refusal);
      activity["detail"]["doNotPerform"] = true;
      Append(care_plan, "activity", std::move(activity));
    }
    statements(kSectionPracticalArrangement, crisis.practical_arrangements());
    statements(kSectionWhoMaySee, crisis.who_may_see());
    Append(care_plan, "activity", AdvanceDecisionActivity(crisis.advance_decision()));
  }

  // The contact as a RelatedPerson; the activity says when and how to reach them.
  json HelpContactActivity(const std::string& plan_name, const v1::Contact& contact, int index) {
    json person = {{"resourceType", "RelatedPerson"}, {"patient", PatientRef()}};
    Append(person, "relationship", TextConcept(contact.relationship()));
    if (!contact.name().empty()) Append(person, "name", {{"text", contact.name()}});
    Append(person, "telecom", ContactPoint("phone", contact.phone()));
    Append(person, "telecom", ContactPoint("email", contact.email()));
    const std::string urn = Allocate(ItemKey(plan_name, "help_contacts", contact.id(), index));
    AddEntry(urn, std::move(person));
    json activity = StatementActivity(kSectionHelpContact, contact.notes());
    json performer = Reference(urn);
    SetString(performer, "display", contact.name());
    activity["detail"]["performer"] = json::array({std::move(performer)});
    return activity;
  }

  // The service as a HealthcareService; the activity's schedule is its opening hours.
  json ServiceContactActivity(const std::string& plan_name, const v1::ServiceContact& contact,
                              int index) {
    json service = {{"resourceType", "HealthcareService"}};
    SetString(service, "name", contact.name());
    Append(service, "telecom", ContactPoint("phone", contact.phone()));
    Append(service, "telecom", ContactPoint("url", contact.website()));
    SetString(service, "comment", contact.notes());
    const std::string urn =
        Allocate(ItemKey(plan_name, "professional_contacts", contact.id(), index));
    AddEntry(urn, std::move(service));
    json activity = StatementActivity(
        contact.crisis_service() ? kSectionCrisisService : kSectionProfessionalContact, "");
    json performer = Reference(urn);
    SetString(performer, "display", contact.name());
    activity["detail"]["performer"] = json::array({std::move(performer)});
    SetString(activity["detail"], "scheduledString", contact.hours());
    return activity;
  }

  static json PreferenceActivity(const Code& section, const v1::CrisisPreference& preference) {
    json activity = StatementActivity(section, preference.text());
    if (const Code* topic = PreferenceTopicCode(preference.topic())) {
      Append(activity["detail"], "extension",
             Extension(kPreferenceTopicExtension, "valueCoding", ToCoding(*topic)));
    }
    return activity;
  }

  static json AdvanceDecisionActivity(const v1::AdvanceDecision& decision) {
    const std::string signed_on = FhirDate(decision.signed_on());
    const std::string witnessed_on = FhirDate(decision.witnessed_on());
    if (decision.treatment_refused().empty() && decision.circumstances().empty() &&
        decision.signed_by().empty() && decision.witnessed_by().empty() && signed_on.empty() &&
        witnessed_on.empty() && !decision.applies_even_if_life_at_risk()) {
      return json::object();
    }
    json extension = {{"url", kAdvanceDecisionExtension}};
    Append(extension, "extension", StringExtension("circumstances", decision.circumstances()));
    Append(extension, "extension",
           Extension("appliesEvenIfLifeAtRisk", "valueBoolean",
                     decision.applies_even_if_life_at_risk()));
    Append(extension, "extension", StringExtension("signedBy", decision.signed_by()));
    Append(extension, "extension", DateExtension("signedOn", signed_on));
    Append(extension, "extension", StringExtension("witnessedBy", decision.witnessed_by()));
    Append(extension, "extension", DateExtension("witnessedOn", witnessed_on));
    json activity = StatementActivity(kSectionAdvanceDecision, decision.treatment_refused());
    activity["detail"]["doNotPerform"] = true;
    activity["detail"]["extension"] = json::array({std::move(extension)});
    return activity;
  }

  // --- Decision records --------------------------------------------------------------------

  const v1::OptionGridVersion* GridOf(const v1::DecisionRecord& decision) const {
    auto it = records_.grid_versions.find(decision.option_grid_version());
    return it == records_.grid_versions.end() ? nullptr : &it->second;
  }

  static std::string OptionTitle(const v1::OptionGridVersion* grid, const std::string& id) {
    if (grid != nullptr) {
      for (const v1::GridOption& option : grid->grid().options()) {
        if (option.id() == id && !option.title().empty()) return option.title();
      }
    }
    return id;
  }

  static std::string QuestionText(const v1::OptionGridVersion* grid, const std::string& id) {
    if (grid != nullptr) {
      for (const v1::GridQuestion& question : grid->grid().questions()) {
        if (question.id() == id && !question.question().empty()) return question.question();
      }
    }
    return id;
  }

  void AddDecision(const v1::DecisionRecord& decision) {
    const std::string urn = UrnOf(decision.name());
    const v1::OptionGridVersion* grid = GridOf(decision);
    json plan = DocumentCarePlan(decision, kSharedDecisionCategory,
                                 DecisionCarePlanStatus(decision.status()));
    const std::string canonical =
        decision.option_grid_version().empty()
            ? ""
            : CanonicalOfGridVersion(decision.option_grid_version()).Versioned();
    Append(plan, "instantiatesCanonical", canonical);
    const v1::DecisionOutcome& outcome = decision.outcome();
    json period = Period(FhirDate(outcome.decided_on()), "");
    if (!period.empty()) plan["period"] = std::move(period);
    Append(plan, "activity", DecisionActivity(decision, grid, canonical));
    const std::string follow_up = FhirDate(decision.follow_up_date());
    if (!follow_up.empty()) {
      const char* status = decision.status() == v1::DECISION_STATUS_CLOSED      ? "completed"
                           : decision.status() == v1::DECISION_STATUS_WITHDRAWN ? "cancelled"
                                                                                : "scheduled";
      json activity = Activity(kSectionDecisionFollowUp, status, "");
      activity["detail"]["scheduledPeriod"] = Period(follow_up, "");
      Append(plan, "activity", std::move(activity));
    }
    if (HasSureAnswer(decision.sure())) {
      const std::string sure_urn = Allocate(absl::StrCat(decision.name(), "#sure"));
      AddEntry(sure_urn, SureResponse(decision.sure(), urn));
      Append(plan, "supportingInfo", Reference(sure_urn));
    }
    json guide = DecisionGuideResponse(decision, grid, urn);
    if (guide.contains("item")) {
      const std::string guide_urn = Allocate(absl::StrCat(decision.name(), "#decision-guide"));
      AddEntry(guide_urn, std::move(guide));
      Append(plan, "supportingInfo", Reference(guide_urn));
    }
    for (const v1::CollaborateResponse& response : records_.collaborate_responses) {
      if (absl::StartsWith(response.name(), absl::StrCat(decision.name(), "/"))) {
        Append(plan, "supportingInfo", Reference(UrnOf(response.name())));
      }
    }
    AddEntry(urn, std::move(plan));
  }

  json DecisionActivity(const v1::DecisionRecord& decision, const v1::OptionGridVersion* grid,
                        const std::string& canonical) {
    const v1::DecisionOutcome& outcome = decision.outcome();
    if (decision.status() == v1::DECISION_STATUS_UNSPECIFIED && outcome.option_id().empty() &&
        outcome.participants_size() == 0 && outcome.notes().empty()) {
      return json::object();
    }
    const std::string chosen =
        outcome.option_id().empty() ? "" : OptionTitle(grid, outcome.option_id());
    json activity = Activity(kSectionDecision, DecisionActivityStatus(decision.status()), chosen);
    Append(activity["detail"], "instantiatesCanonical", canonical);
    for (const v1::TextItem& participant : outcome.participants()) {
      Append(activity["detail"], "performer", DisplayReference(participant.text()));
    }
    if (!outcome.notes().empty()) {
      json note = {{"text", outcome.notes()}};
      SetString(note, "time", FhirDate(outcome.decided_on()));
      activity["progress"] = json::array({std::move(note)});
    }
    return activity;
  }

  static bool HasSureAnswer(const v1::SureTest& sure) {
    return sure.sure_of_best_choice() != v1::SURE_ANSWER_UNSPECIFIED ||
           sure.understands_benefits_and_risks() != v1::SURE_ANSWER_UNSPECIFIED ||
           sure.clear_about_what_matters() != v1::SURE_ANSWER_UNSPECIFIED ||
           sure.enough_support() != v1::SURE_ANSWER_UNSPECIFIED;
  }

  json SureResponse(const v1::SureTest& sure, const std::string& decision_urn) {
    sure_used_ = true;
    json response = QuestionnaireResponse(
        kSureQuestionnaireUrl, sure.complete() ? "completed" : "in-progress", decision_urn);
    auto answer = [&response](const char* link_id, v1::SureAnswer value) {
      if (value == v1::SURE_ANSWER_UNSPECIFIED) return;
      Append(response, "item", AnswerItem(link_id, "valueBoolean", value == v1::SURE_ANSWER_YES));
    };
    answer(kSureBestChoice, sure.sure_of_best_choice());
    answer(kSureBenefitsAndRisks, sure.understands_benefits_and_risks());
    answer(kSureWhatMatters, sure.clear_about_what_matters());
    answer(kSureSupport, sure.enough_support());
    if (sure.complete()) {
      Append(response, "item", AnswerItem(kSureScore, "valueInteger", sure.score()));
    }
    return response;
  }

  json DecisionGuideResponse(const v1::DecisionRecord& decision, const v1::OptionGridVersion* grid,
                             const std::string& decision_urn) {
    json response = QuestionnaireResponse(
        kDecisionGuideQuestionnaireUrl,
        decision.status() == v1::DECISION_STATUS_IN_PROGRESS ? "in-progress" : "completed",
        decision_urn);
    if (const Code* stage = DecisionStageCode(decision.stage())) {
      Append(response, "item", AnswerItem(kGuideStage, "valueCoding", ToCoding(*stage)));
    }
    for (const v1::RowImportance& importance : decision.importances()) {
      json group = {{"linkId", kGuideImportance}};
      Append(
          group, "item",
          StringAnswerItem(kGuideImportanceQuestion, QuestionText(grid, importance.question_id())));
      if (importance.importance() >= 1 && importance.importance() <= 5) {
        Append(group, "item",
               AnswerItem(kGuideImportanceRating, "valueInteger", importance.importance()));
      }
      Append(group, "item", StringAnswerItem(kGuideImportanceNote, importance.note()));
      if (group.contains("item")) Append(response, "item", std::move(group));
    }
    for (const v1::OptionNote& note : decision.option_notes()) {
      if (note.note().empty()) continue;
      json group = {{"linkId", kGuideOptionNote}};
      Append(group, "item",
             StringAnswerItem(kGuideOptionNoteOption, OptionTitle(grid, note.option_id())));
      Append(group, "item", StringAnswerItem(kGuideOptionNoteText, note.note()));
      Append(response, "item", std::move(group));
    }
    if (!decision.leaning_option_id().empty()) {
      Append(response, "item",
             StringAnswerItem(kGuideLeaning, OptionTitle(grid, decision.leaning_option_id())));
    }
    Append(response, "item", WhoDecides(decision.who_decides()));
    if (response.contains("item")) decision_guide_used_ = true;
    return response;
  }

  static json WhoDecides(const v1::DecisionMaker& who_decides) {
    json group = {{"linkId", kGuideWhoDecides}};
    if (const Code* mode = DecisionMakerModeCode(who_decides.mode())) {
      Append(group, "item", AnswerItem(kGuideWhoDecidesMode, "valueCoding", ToCoding(*mode)));
    }
    json people = {{"linkId", kGuideWhoDecidesPerson}};
    for (const v1::TextItem& person : who_decides.people()) {
      if (!person.text().empty()) Append(people, "answer", {{"valueString", person.text()}});
    }
    if (people.contains("answer")) Append(group, "item", std::move(people));
    return group.contains("item") ? group : json::object();
  }

  void AddCollaborateResponse(const v1::CollaborateResponse& collaborate) {
    collaborate_used_ = true;
    const std::string& name = collaborate.name();
    const size_t responses = name.find("/collaborateResponses/");
    const std::string decision_urn =
        responses == std::string::npos ? "" : UrnOf(name.substr(0, responses));
    json response = QuestionnaireResponse(kCollaborateQuestionnaireUrl, "completed", decision_urn);
    json identifier = CoplanIdentifier(name);
    if (!identifier.empty()) response["identifier"] = std::move(identifier);
    SetString(response, "authored", FhirInstant(collaborate.create_time()));
    Append(
        response, "item",
        AnswerItem(kCollaborateUnderstand, "valueInteger", collaborate.understand_health_issues()));
    Append(response, "item",
           AnswerItem(kCollaborateListen, "valueInteger", collaborate.listen_to_what_matters()));
    Append(response, "item",
           AnswerItem(kCollaborateInclude, "valueInteger", collaborate.include_what_matters()));
    if (!collaborate.clinician().empty()) {
      Append(response, "item",
             AnswerItem(kCollaborateClinician, "valueReference",
                        PersonRef(collaborate.clinician(), "", true)));
    }
    AddEntry(UrnOf(name), std::move(response));
  }

  // --- Option grids ---------------------------------------------------------------------

  void AddGridVersion(const v1::OptionGridVersion& version) {
    const v1::OptionGrid& grid = version.grid();
    const GridCanonical canonical = CanonicalOfGridVersion(version.name());
    json plan = {{"resourceType", "PlanDefinition"}, {"url", canonical.url}, {"status", "active"}};
    SetString(plan, "version", canonical.version);
    Append(plan, "identifier", CoplanIdentifier(version.name()));
    SetString(plan, "title", grid.title());
    SetString(plan, "language", HasWhitespace(grid.locale()) ? "" : grid.locale());
    SetString(plan, "date", FhirInstant(version.publish_time()));
    auto publisher = records_.people.find(version.publisher());
    if (publisher != records_.people.end()) {
      SetString(plan, "publisher", publisher->second.display_name());
    }
    SetString(plan, "description", grid.decision_question());
    SetString(plan, "lastReviewDate", FhirDate(grid.last_review_date()));
    // Readers are warned after the next review date: the content is meant for use until then.
    json effective = Period("", FhirDate(grid.next_review_date()));
    if (!effective.empty()) plan["effectivePeriod"] = std::move(effective);
    for (const v1::GridAuthor& author : grid.authors()) {
      json contact = json::object();
      SetString(contact, "name", author.name());
      Append(contact, "extension", StringExtension(kAuthorRoleExtension, author.role()));
      Append(plan, "author", std::move(contact));
    }
    std::map<std::string, json> citations;
    for (const v1::GridSource& source : grid.sources()) {
      json citation = Citation(source);
      citations[source.id()] = citation;
      Append(plan, "relatedArtifact", std::move(citation));
    }
    Append(plan, "extension", StringExtension(kGridFundingExtension, grid.funding()));
    Append(plan, "extension",
           StringExtension(kGridConflictOfInterestExtension, grid.conflict_of_interest()));
    if (version.reading_age().words() > 0) {
      Append(plan, "extension",
             Extension(kReadingAgeExtension, "valueDecimal",
                       version.reading_age().reading_age_years()));
    }
    json options = json::array();
    for (const v1::GridOption& option : grid.options()) {
      options.push_back(OptionAction(grid, option, citations));
    }
    if (!options.empty()) {
      json choice = {{"selectionBehavior", "exactly-one"}, {"action", std::move(options)}};
      SetString(choice, "title", grid.decision_question());
      plan["action"] = json::array({std::move(choice)});
    }
    AddEntry(UrnOf(version.name()), std::move(plan));
  }

  static json Citation(const v1::GridSource& source) {
    json citation = {{"type", "citation"}};
    SetString(citation, "citation", source.citation());
    // RelatedArtifact.url admits no spaces; a URL written with them stays readable as display.
    SetString(citation, HasWhitespace(source.url()) ? "display" : "url", source.url());
    return citation;
  }

  // One option of the grid, with its answer to every question as a sub-action.
  static json OptionAction(const v1::OptionGrid& grid, const v1::GridOption& option,
                           const std::map<std::string, json>& citations) {
    json action = json::object();
    SetString(action, "title", option.title());
    SetString(action, "description", option.description());
    if (option.wait_and_see()) action["code"] = json::array({ToConcept(kWaitAndSeeOption)});
    for (const v1::GridQuestion& question : grid.questions()) {
      for (const v1::GridAnswer& answer : question.answers()) {
        if (answer.option_id() != option.id()) continue;
        json row = json::object();
        SetString(row, "title", question.question());
        SetString(row, "description", answer.text());
        for (const std::string& source_id : answer.source_ids()) {
          auto citation = citations.find(source_id);
          if (citation != citations.end()) Append(row, "documentation", citation->second);
        }
        Append(action, "action", std::move(row));
      }
    }
    return action;
  }

  // --- Grants and proxies -------------------------------------------------------------------

  json Consent(const char* status, const Code& policy) {
    return {{"resourceType", "Consent"},
            {"status", status},
            {"scope", ToConcept(kPrivacyConsentScope)},
            {"category", json::array({ToConcept(kConsentDocument)})},
            {"patient", PatientRef()},
            {"policyRule", ToConcept(policy)}};
  }

  static json AccessActions(v1::AccessLevel access) {
    json actions = json::array();
    if (access == v1::ACCESS_LEVEL_UNSPECIFIED) return actions;
    actions.push_back(ToConcept(kConsentActionAccess));
    if (access == v1::ACCESS_LEVEL_EDIT) actions.push_back(ToConcept(kConsentActionCorrect));
    return actions;
  }

  void AddGrant(const v1::Grant& grant) {
    json consent = Consent(GrantConsentStatus(grant.state()), kPolicyGrant);
    Append(consent, "identifier", CoplanIdentifier(grant.name()));
    SetString(consent, "dateTime", FhirInstant(grant.create_time()));
    consent["performer"] = json::array({PatientRef()});
    json provision = {{"type", "permit"}};
    const std::string end = !FhirInstant(grant.revoke_time()).empty()
                                ? FhirInstant(grant.revoke_time())
                                : FhirInstant(grant.expire_time());
    json period = Period(FhirInstant(grant.create_time()), end);
    if (!period.empty()) provision["period"] = std::move(period);
    if (!grant.grantee().empty()) {
      provision["actor"] =
          json::array({{{"role", ToConcept(kInformationRecipient)},
                        {"reference", PersonRef(grant.grantee(), grant.grantee_display_name())}}});
    }
    json actions = AccessActions(grant.access());
    if (!actions.empty()) provision["action"] = std::move(actions);
    for (const std::string& document : grant.documents()) {
      if (document.empty()) continue;
      Append(provision, "data", {{"meaning", "instance"}, {"reference", ResourceRef(document)}});
    }
    for (int kind : grant.document_kinds()) {
      if (const Code* code = DocumentKindCode(static_cast<v1::DocumentKind>(kind))) {
        Append(provision, "code", ToConcept(*code));
      }
    }
    consent["provision"] = std::move(provision);
    AddEntry(UrnOf(grant.name()), std::move(consent));
  }

  void AddProxy(const v1::ProxyAccess& proxy) {
    json consent = Consent(ProxyConsentStatus(proxy.state()),
                           proxy.granted_by_person() ? kPolicyProxyByPerson : kPolicyProxyByStaff);
    Append(consent, "identifier", CoplanIdentifier(proxy.name()));
    SetString(consent, "dateTime", FhirInstant(proxy.create_time()));
    if (proxy.granted_by_person()) consent["performer"] = json::array({PatientRef()});
    json provision = {{"type", "permit"}};
    json period = Period(FhirInstant(proxy.create_time()), FhirInstant(proxy.refuse_time()));
    if (!period.empty()) provision["period"] = std::move(period);
    if (!proxy.proxy().empty()) {
      json guardian = PersonRef(proxy.proxy(), proxy.proxy_display_name());
      if (proxy.proxy() != records_.person.name()) mentioned_[proxy.proxy()].guardian = true;
      provision["actor"] =
          json::array({{{"role", ToConcept(kGuardian)}, {"reference", std::move(guardian)}}});
    }
    json actions = AccessActions(proxy.access());
    if (!actions.empty()) provision["action"] = std::move(actions);
    consent["provision"] = std::move(provision);
    Append(consent, "extension", CompetenceDecision(proxy));
    AddEntry(UrnOf(proxy.name()), std::move(consent));
  }

  json CompetenceDecision(const v1::ProxyAccess& proxy) {
    const Code* decision = CompetenceCode(proxy.competence());
    if (decision == nullptr) return json::object();
    json extension = {{"url", kCompetenceDecisionExtension}};
    Append(extension, "extension", Extension("decision", "valueCoding", ToCoding(*decision)));
    Append(extension, "extension", StringExtension("reason", proxy.competence_reason()));
    if (!proxy.competence_decided_by().empty()) {
      Append(extension, "extension",
             Extension("decidedBy", "valueReference",
                       PersonRef(proxy.competence_decided_by(), "", true)));
    }
    const std::string time = FhirInstant(proxy.competence_decision_time());
    if (!time.empty()) Append(extension, "extension", Extension("time", "valueDateTime", time));
    return extension;
  }

  // --- Provenance ------------------------------------------------------------------------

  json Provenance(const std::string& target_urn, const std::string& recorded, int64_t revision) {
    json provenance = {
        {"resourceType", "Provenance"},
        {"target", json::array({Reference(target_urn)})},
        {"recorded", recorded.empty() ? FhirInstant(records_.export_time) : recorded}};
    if (revision > 0) {
      Append(provenance, "extension",
             Extension(kRevisionExtension, "valueInteger", static_cast<int32_t>(revision)));
    }
    return provenance;
  }

  json AgentWho(const std::string& person, bool clinician) {
    // A change without a recorded author was made by the server itself.
    return person.empty() ? Reference(device_urn_) : PersonRef(person, "", clinician);
  }

  void AddHistory(const DocumentHistory& history) {
    const std::string target = UrnOf(history.document);
    if (target.empty()) return;  // a history of a document that is not exported
    for (const v1::Revision& revision : history.revisions) {
      json provenance =
          Provenance(target, FhirInstant(revision.create_time()), revision.revision());
      provenance["activity"] = ToConcept(RevisionActivity(revision.kind()));
      provenance["agent"] = {
          {{"type", ToConcept(kProvenanceAuthor)}, {"who", AgentWho(revision.author(), false)}}};
      for (const std::string& path : revision.changed_paths()) {
        Append(provenance, "extension", StringExtension(kChangedPathExtension, path));
      }
      const std::string key =
          revision.name().empty()
              ? absl::StrCat(history.document, "/revisions/", revision.revision())
              : revision.name();
      AddEntry(Allocate(key), std::move(provenance));
    }
  }

  void AddSignOffs(const std::string& document, const v1::Agreement& agreement) {
    const std::string target = UrnOf(document);
    if (target.empty()) return;
    for (const v1::SignOff& sign_off : agreement.sign_offs()) {
      json agent = {
          {"type", ToConcept(kProvenanceAttester)},
          {"who", AgentWho(sign_off.person(), sign_off.role() == v1::SIGN_OFF_ROLE_CLINICIAN)}};
      if (const Code* role = SignOffRoleCode(sign_off.role())) {
        agent["role"] = json::array({ToConcept(*role)});
      }
      json provenance = Provenance(target, FhirInstant(sign_off.sign_time()), sign_off.revision());
      provenance["agent"] = json::array({std::move(agent)});
      AddEntry(Allocate(absl::StrCat(document, "#sign-off/", sign_off.person(), "/",
                                     sign_off.revision())),
               std::move(provenance));
    }
  }

  // --- The access log -------------------------------------------------------------------

  void AddAccessEvent(const v1::AccessEvent& event) {
    const bool authentication =
        event.action() == v1::AUDIT_ACTION_SIGN_IN || event.action() == v1::AUDIT_ACTION_SIGN_OUT;
    const std::string recorded = FhirInstant(event.event_time());
    json audit = {
        {"resourceType", "AuditEvent"},
        {"type", ToCoding(authentication ? kAuditUserAuthentication : kAuditPatientRecord)},
        {"action", AuditEventAction(event.action())},
        {"recorded", recorded.empty() ? FhirInstant(records_.export_time) : recorded},
        {"outcome", AuditEventOutcome(event.outcome())},
        {"source",
         {{"observer", Reference(device_urn_)},
          {"type", json::array({ToCoding(kAuditSourceApplicationServer)})}}}};
    if (event.action() == v1::AUDIT_ACTION_SIGN_IN) Append(audit, "subtype", ToCoding(kAuditLogin));
    if (event.action() == v1::AUDIT_ACTION_SIGN_OUT) {
      Append(audit, "subtype", ToCoding(kAuditLogout));
    }
    if (!event.method().empty()) {
      Append(audit, "subtype", Coding(kRpcMethodSystem, event.method(), ""));
    }
    json agent = {{"requestor", true}};
    json who = ActorRef(event.actor(), event.actor_display_name());
    if (!who.empty()) agent["who"] = std::move(who);
    SetString(agent, "name", event.actor_display_name());
    audit["agent"] = json::array({std::move(agent)});
    Append(audit, "entity", RecordEntity(event));
    if (!event.on_behalf_of().empty()) {
      Append(audit, "entity",
             {{"what", PersonRef(event.on_behalf_of())},
              {"type", ToCoding(kAuditEntityPerson)},
              {"role", ToCoding(kAuditRolePatient)}});
    }
    if (!event.access_given_to().empty()) {
      Append(audit, "entity",
             {{"what", ActorRef(event.access_given_to(), event.access_given_to_display_name())},
              {"type", ToCoding(kAuditEntityPerson)},
              {"description", "Given access to the records"}});
    }
    if (event.sequence() != 0) {
      Append(audit, "extension",
             StringExtension(kAuditSequenceExtension, absl::StrCat(event.sequence())));
    }
    AddEntry(Allocate(absl::StrCat(records_.person.name(), "#access-event/", event.sequence())),
             std::move(audit));
  }

  json RecordEntity(const v1::AccessEvent& event) {
    if (event.resource().empty()) return json::object();
    json entity = {{"what", ResourceRef(event.resource())},
                   {"type", ToCoding(kAuditEntitySystemObject)}};
    if (event.revision_from() != 0 || event.revision_to() != 0) {
      Append(entity, "detail",
             {{"type", "revision-from"}, {"valueString", absl::StrCat(event.revision_from())}});
      Append(entity, "detail",
             {{"type", "revision-to"}, {"valueString", absl::StrCat(event.revision_to())}});
    }
    return entity;
  }

  // --- The Bundle -------------------------------------------------------------------------

  void AddQuestionnaire(bool used, json questionnaire, json& entries) {
    if (!used) return;
    const std::string urn = Allocate(questionnaire["url"].get<std::string>());
    questionnaire["id"] = IdOfUrn(urn);
    entries.push_back({{"fullUrl", urn}, {"resource", std::move(questionnaire)}});
  }

  json Assemble() {
    json entries = json::array();
    entries.push_back({{"fullUrl", patient_urn_}, {"resource", Patient()}});
    entries.push_back({{"fullUrl", device_urn_}, {"resource", Device()}});
    for (const auto& [name, person] : mentioned_) {
      entries.push_back({{"fullUrl", person_urns_.at(name)},
                         {"resource", MentionedPersonResource(name, person)}});
    }
    AddQuestionnaire(sure_used_, SureQuestionnaire(), entries);
    AddQuestionnaire(collaborate_used_, CollaborateQuestionnaire(), entries);
    AddQuestionnaire(dialog_used_, DialogQuestionnaire(), entries);
    AddQuestionnaire(decision_guide_used_, DecisionGuideQuestionnaire(), entries);
    for (json& entry : entries_) entries.push_back(std::move(entry));
    const std::string timestamp = FhirInstant(records_.export_time);
    return {{"resourceType", "Bundle"},
            {"id", IdOfUrn(UrnUuid(absl::StrCat(records_.person.name(), "#export/", timestamp)))},
            {"type", "collection"},
            {"timestamp", timestamp},
            {"entry", std::move(entries)}};
  }

  const PersonRecords& records_;
  std::set<std::string> allocated_;
  std::string patient_urn_;
  std::string device_urn_;
  std::string care_team_urn_;
  std::map<std::string, std::string> resource_urns_;  // Coplan name => fullUrl
  std::map<std::string, MentionedPerson> mentioned_;  // by person name
  std::map<std::string, std::string> person_urns_;
  std::set<std::string> known_people_;  // mentioned people found in records_.people
  std::vector<json> entries_;
  bool sure_used_ = false;
  bool collaborate_used_ = false;
  bool dialog_used_ = false;
  bool decision_guide_used_ = false;
};

}  // namespace
}  // namespace fhir

nlohmann::json BuildFhirBundle(const PersonRecords& records) {
  return fhir::BundleBuilder(records).Build();
}

}  // namespace coplan
