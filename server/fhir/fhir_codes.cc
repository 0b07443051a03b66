#include "server/fhir/fhir_codes.h"

namespace coplan {
namespace fhir {
namespace {

constexpr char kConsentScope[] = "http://terminology.hl7.org/CodeSystem/consentscope";
constexpr char kParticipationType[] = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
constexpr char kRoleCode[] = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
constexpr char kConsentAction[] = "http://terminology.hl7.org/CodeSystem/consentaction";
constexpr char kProvenanceParticipant[] =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
constexpr char kDataOperation[] = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
constexpr char kSecuritySource[] = "http://terminology.hl7.org/CodeSystem/security-source-type";
constexpr char kAuditEntityType[] = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr char kObjectRole[] = "http://terminology.hl7.org/CodeSystem/object-role";
constexpr char kGoalAchievement[] = "http://terminology.hl7.org/CodeSystem/goal-achievement";

constexpr char kPlanCategory[] = "https://coplan.app/fhir/CodeSystem/plan-category";
constexpr char kPlanSection[] = "https://coplan.app/fhir/CodeSystem/plan-section";
constexpr char kCareTeamRole[] = "https://coplan.app/fhir/CodeSystem/care-team-role";
constexpr char kAccessPolicy[] = "https://coplan.app/fhir/CodeSystem/access-policy";
constexpr char kPreferenceTopic[] = "https://coplan.app/fhir/CodeSystem/preference-topic";
constexpr char kSignOffRole[] = "https://coplan.app/fhir/CodeSystem/sign-off-role";
constexpr char kDocumentKind[] = "https://coplan.app/fhir/CodeSystem/document-kind";
constexpr char kCompetence[] = "https://coplan.app/fhir/CodeSystem/competence-decision";
constexpr char kDecisionStage[] = "https://coplan.app/fhir/CodeSystem/decision-stage";
constexpr char kDecisionMaker[] = "https://coplan.app/fhir/CodeSystem/decision-maker-mode";
constexpr char kDialogDomain[] = "https://coplan.app/fhir/CodeSystem/dialog-domain";
constexpr char kOptionGrid[] = "https://coplan.app/fhir/CodeSystem/option-grid";

}  // namespace

nlohmann::json ToCoding(const Code& code) {
  nlohmann::json coding = {{"system", code.system}, {"code", code.code}};
  if (code.display[0] != '\0') coding["display"] = code.display;
  return coding;
}

nlohmann::json ToConcept(const Code& code) {
  return {{"coding", nlohmann::json::array({ToCoding(code)})}};
}

const Code kMentalHealthCarePlan{kSnomed, "718347000", "Mental health care plan (record artifact)"};
const Code kMentalHealthCrisisPlan{kSnomed, "736253002",
                                   "Mental health crisis plan (record artifact)"};
const Code kPrivacyConsentScope{kConsentScope, "patient-privacy", "Privacy Consent"};
const Code kConsentDocument{kLoinc, "59284-0", "Consent Document"};
const Code kInformationRecipient{kParticipationType, "IRCP", "information recipient"};
const Code kGuardian{kRoleCode, "GUARD", "guardian"};
const Code kConsentActionAccess{kConsentAction, "access", "Access"};
const Code kConsentActionCorrect{kConsentAction, "correct", "Access and Correct"};
const Code kProvenanceAuthor{kProvenanceParticipant, "author", "Author"};
const Code kProvenanceAttester{kProvenanceParticipant, "attester", "Attester"};
const Code kAuditPatientRecord{kDicom, "110110", "Patient Record"};
const Code kAuditUserAuthentication{kDicom, "110114", "User Authentication"};
const Code kAuditLogin{kDicom, "110122", "Login"};
const Code kAuditLogout{kDicom, "110123", "Logout"};
const Code kAuditSourceApplicationServer{kSecuritySource, "4", "Application Server"};
const Code kAuditEntityPerson{kAuditEntityType, "1", "Person"};
const Code kAuditEntitySystemObject{kAuditEntityType, "2", "System Object"};
const Code kAuditRolePatient{kObjectRole, "1", "Patient"};

const Code kSharedDecisionCategory{kPlanCategory, "shared-decision", "Shared decision record"};
const Code kSectionGoalStep{kPlanSection, "goal-step", "Step towards a goal"};
const Code kSectionCareAction{kPlanSection, "care-action", "Action"};
const Code kSectionMedicationPreference{kPlanSection, "medication-preference",
                                        "Medication I prefer"};
const Code kSectionUnacceptableMedication{kPlanSection, "unacceptable-medication",
                                          "Medication I do not want to take"};
const Code kSectionPlanReview{kPlanSection, "plan-review", "Review of the plan"};
const Code kSectionWarningSign{kPlanSection, "warning-sign", "Warning sign or trigger"};
const Code kSectionCopingStrategy{kPlanSection, "coping-strategy", "Things I can do myself"};
const Code kSectionDistraction{kPlanSection, "distraction",
                               "People and places that take my mind off things"};
const Code kSectionHelpContact{kPlanSection, "help-contact", "Person I can ask for help"};
const Code kSectionProfessionalContact{kPlanSection, "professional-contact",
                                       "Professional or service to contact"};
const Code kSectionCrisisService{kPlanSection, "crisis-service", "Crisis service to contact"};
const Code kSectionSafeEnvironment{kPlanSection, "safe-environment", "Making my surroundings safe"};
const Code kSectionReasonForLiving{kPlanSection, "reason-for-living", "Reason for living"};
const Code kSectionWishIfUnwell{kPlanSection, "wish-if-unwell",
                                "What I would like to happen if I become unwell"};
const Code kSectionRefusalIfUnwell{kPlanSection, "refusal-if-unwell",
                                   "What I do not want to happen if I become unwell"};
const Code kSectionPracticalArrangement{kPlanSection, "practical-arrangement",
                                        "Practical arrangement"};
const Code kSectionWhoMaySee{kPlanSection, "who-may-see",
                             "Who I would like to be able to see this plan"};
const Code kSectionAdvanceDecision{kPlanSection, "advance-decision",
                                   "Advance decision to refuse treatment"};
const Code kSectionDecision{kPlanSection, "decision", "The decision made"};
const Code kSectionDecisionFollowUp{kPlanSection, "decision-follow-up",
                                    "Follow-up of the decision"};
const Code kSectionGoal{kPlanSection, "goal", "Goal"};
const Code kKeyWorkerRole{kCareTeamRole, "key-worker", "Key worker or care coordinator"};
const Code kCareTeamMemberRole{kCareTeamRole, "care-team-member", "Care team member"};
const Code kPolicyGrant{kAccessPolicy, "grant", "Access granted by the person"};
const Code kPolicyProxyByPerson{kAccessPolicy, "proxy-by-person",
                                "Proxy access granted by the person"};
const Code kPolicyProxyByStaff{kAccessPolicy, "proxy-by-staff",
                               "Proxy access for a guardian, set up by staff"};
const Code kWaitAndSeeOption{kOptionGrid, "wait-and-see", "No treatment / wait and see"};

const Code* PreferenceTopicCode(v1::PreferenceTopic topic) {
  static const Code kTreatment{kPreferenceTopic, "treatment", "Treatment"};
  static const Code kPlace{kPreferenceTopic, "place", "Place"};
  static const Code kStaff{kPreferenceTopic, "staff", "Staff"};
  static const Code kOther{kPreferenceTopic, "other", "Other"};
  switch (topic) {
    case v1::PREFERENCE_TOPIC_TREATMENT:
      return &kTreatment;
    case v1::PREFERENCE_TOPIC_PLACE:
      return &kPlace;
    case v1::PREFERENCE_TOPIC_STAFF:
      return &kStaff;
    case v1::PREFERENCE_TOPIC_OTHER:
      return &kOther;
    default:
      return nullptr;
  }
}

const Code* SignOffRoleCode(v1::SignOffRole role) {
  static const Code kServiceUser{kSignOffRole, "service-user", "Service user"};
  static const Code kClinician{kSignOffRole, "clinician", "Clinician"};
  switch (role) {
    case v1::SIGN_OFF_ROLE_SERVICE_USER:
      return &kServiceUser;
    case v1::SIGN_OFF_ROLE_CLINICIAN:
      return &kClinician;
    default:
      return nullptr;
  }
}

const Code* DocumentKindCode(v1::DocumentKind kind) {
  static const Code kCarePlan{kDocumentKind, "care-plan", "Care plan"};
  static const Code kCrisisPlan{kDocumentKind, "crisis-plan", "Crisis plan"};
  static const Code kDecisionRecord{kDocumentKind, "decision-record", "Decision record"};
  switch (kind) {
    case v1::DOCUMENT_KIND_CARE_PLAN:
      return &kCarePlan;
    case v1::DOCUMENT_KIND_CRISIS_PLAN:
      return &kCrisisPlan;
    case v1::DOCUMENT_KIND_DECISION_RECORD:
      return &kDecisionRecord;
    default:
      return nullptr;
  }
}

const Code* CompetenceCode(v1::CompetenceDecision decision) {
  static const Code kCompetent{kCompetence, "competent", "Competent to decide"};
  static const Code kNotCompetent{kCompetence, "not-competent", "Not competent to decide"};
  switch (decision) {
    case v1::COMPETENCE_DECISION_COMPETENT:
      return &kCompetent;
    case v1::COMPETENCE_DECISION_NOT_COMPETENT:
      return &kNotCompetent;
    default:
      return nullptr;
  }
}

const Code* DecisionStageCode(v1::DecisionStage stage) {
  static const Code kNotThought{kDecisionStage, "not-thought-about-it",
                                "I have not thought about it yet"};
  static const Code kConsidering{kDecisionStage, "considering", "I am considering the options"};
  static const Code kClose{kDecisionStage, "close-to-choosing", "I am close to choosing"};
  static const Code kMade{kDecisionStage, "made-a-choice", "I have made a choice"};
  switch (stage) {
    case v1::DECISION_STAGE_NOT_THOUGHT_ABOUT_IT:
      return &kNotThought;
    case v1::DECISION_STAGE_CONSIDERING:
      return &kConsidering;
    case v1::DECISION_STAGE_CLOSE_TO_CHOOSING:
      return &kClose;
    case v1::DECISION_STAGE_MADE_A_CHOICE:
      return &kMade;
    default:
      return nullptr;
  }
}

const Code* DecisionMakerModeCode(v1::DecisionMakerMode mode) {
  static const Code kMe{kDecisionMaker, "me", "I decide"};
  static const Code kTogether{kDecisionMaker, "together",
                              "I decide together with the people named"};
  static const Code kSomeoneElse{kDecisionMaker, "someone-else", "Someone else decides"};
  switch (mode) {
    case v1::DECISION_MAKER_MODE_ME:
      return &kMe;
    case v1::DECISION_MAKER_MODE_TOGETHER:
      return &kTogether;
    case v1::DECISION_MAKER_MODE_SOMEONE_ELSE:
      return &kSomeoneElse;
    default:
      return nullptr;
  }
}

const Code* DialogDomainCode(v1::DialogDomain domain) {
  static const Code kDomains[] = {
      {kDialogDomain, "mental-health", "Mental health"},
      {kDialogDomain, "physical-health", "Physical health"},
      {kDialogDomain, "job-situation", "Job situation"},
      {kDialogDomain, "accommodation", "Accommodation"},
      {kDialogDomain, "leisure-activities", "Leisure activities"},
      {kDialogDomain, "partner-or-family", "Relationship with partner/family"},
      {kDialogDomain, "friendships", "Friendships"},
      {kDialogDomain, "personal-safety", "Personal safety"},
      {kDialogDomain, "medication", "Medication"},
      {kDialogDomain, "practical-help", "Practical help"},
      {kDialogDomain, "meetings-with-professionals", "Meetings with mental health professionals"},
  };
  const int index = static_cast<int>(domain) - 1;
  if (index < 0 || index >= static_cast<int>(sizeof(kDomains) / sizeof(kDomains[0]))) {
    return nullptr;
  }
  return &kDomains[index];
}

Code RevisionActivity(v1::RevisionKind kind) {
  switch (kind) {
    case v1::REVISION_KIND_CREATE:
      return {kDataOperation, "CREATE", "create"};
    case v1::REVISION_KIND_DELETE:
      return {kDataOperation, "DELETE", "delete"};
    case v1::REVISION_KIND_UNDELETE:
      return {kDataOperation, "REACTIVATE", "reactivate"};
    default:  // whole-field updates and batches of edits alike
      return {kDataOperation, "UPDATE", "revise"};
  }
}

const char* GoalLifecycleStatus(v1::GoalStatus status) {
  switch (status) {
    case v1::GOAL_STATUS_NOT_STARTED:
      return "planned";
    case v1::GOAL_STATUS_IN_PROGRESS:
      return "active";
    case v1::GOAL_STATUS_ACHIEVED:
      return "completed";
    case v1::GOAL_STATUS_PAUSED:
      return "on-hold";
    default:  // a goal of the person's plan, no progress recorded
      return "accepted";
  }
}

const Code* GoalAchievement(v1::GoalStatus status) {
  static const Code kInProgress{kGoalAchievement, "in-progress", "In Progress"};
  static const Code kAchieved{kGoalAchievement, "achieved", "Achieved"};
  switch (status) {
    case v1::GOAL_STATUS_IN_PROGRESS:
      return &kInProgress;
    case v1::GOAL_STATUS_ACHIEVED:
      return &kAchieved;
    default:
      return nullptr;
  }
}

const char* ActionActivityStatus(v1::ActionStatus status) {
  switch (status) {
    case v1::ACTION_STATUS_OPEN:
      return "not-started";
    case v1::ACTION_STATUS_DONE:
      return "completed";
    case v1::ACTION_STATUS_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

const char* DecisionCarePlanStatus(v1::DecisionStatus status) {
  switch (status) {
    case v1::DECISION_STATUS_IN_PROGRESS:
    case v1::DECISION_STATUS_DECIDED:
      return "active";
    case v1::DECISION_STATUS_CLOSED:
      return "completed";
    case v1::DECISION_STATUS_WITHDRAWN:
      return "revoked";
    default:
      return "unknown";
  }
}

const char* DecisionActivityStatus(v1::DecisionStatus status) {
  switch (status) {
    case v1::DECISION_STATUS_IN_PROGRESS:
      return "in-progress";
    case v1::DECISION_STATUS_DECIDED:
    case v1::DECISION_STATUS_CLOSED:
      return "completed";
    case v1::DECISION_STATUS_WITHDRAWN:
      return "cancelled";
    default:
      return "unknown";
  }
}

const char* GrantConsentStatus(v1::GrantState state) {
  switch (state) {
    case v1::GRANT_STATE_ACTIVE:
      return "active";
    case v1::GRANT_STATE_EXPIRED:
    case v1::GRANT_STATE_REVOKED:
      return "inactive";
    case v1::GRANT_STATE_INVITED:
      return "proposed";
    default:
      return "draft";
  }
}

const char* ProxyConsentStatus(v1::ProxyState state) {
  switch (state) {
    case v1::PROXY_STATE_ACTIVE:
      return "active";
    case v1::PROXY_STATE_REFUSED:
      return "rejected";
    case v1::PROXY_STATE_SUSPENDED_AT_16:
      return "inactive";
    case v1::PROXY_STATE_AWAITING_COMPETENCE_DECISION:
    case v1::PROXY_STATE_AWAITING_ACCEPTANCE:
      return "proposed";
    default:
      return "draft";
  }
}

const char* AuditEventAction(v1::AuditAction action) {
  switch (action) {
    case v1::AUDIT_ACTION_READ:
    case v1::AUDIT_ACTION_WATCH:
      return "R";
    case v1::AUDIT_ACTION_CREATE:
      return "C";
    case v1::AUDIT_ACTION_UPDATE:
    case v1::AUDIT_ACTION_SIGN_OFF:
    case v1::AUDIT_ACTION_GRANT:
    case v1::AUDIT_ACTION_REVOKE:
      return "U";
    case v1::AUDIT_ACTION_DELETE:
      return "D";
    default:  // sign-in, sign-out
      return "E";
  }
}

const char* AuditEventOutcome(v1::AuditOutcome outcome) {
  // A refusal answers like an HTTP 4xx: FHIR's "minor failure".
  return outcome == v1::AUDIT_OUTCOME_DENIED ? "4" : "0";
}

}  // namespace fhir
}  // namespace coplan
