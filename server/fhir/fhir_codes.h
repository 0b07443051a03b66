// The code systems, codes and extensions of Coplan's FHIR R4 mapping (docs/fhir-mapping.md
// lists them all), and the mapping of Coplan's enums onto FHIR's required value sets.
#pragma once

#include <nlohmann/json.hpp>

#include "coplan/v1/audit_service.pb.h"
#include "coplan/v1/common.pb.h"
#include "coplan/v1/decision.pb.h"
#include "coplan/v1/editing.pb.h"
#include "coplan/v1/people_service.pb.h"
#include "coplan/v1/plan.pb.h"

namespace coplan {
namespace fhir {

// One code of a code system.
struct Code {
  const char* system;
  const char* code;
  const char* display;
};
nlohmann::json ToCoding(const Code& code);
nlohmann::json ToConcept(const Code& code);

// --- Identifier systems ------------------------------------------------------------------
inline constexpr char kNhsNumberSystem[] = "https://fhir.nhs.uk/Id/nhs-number";
inline constexpr char kCoplanResourceNameSystem[] = "https://coplan.app/fhir/Id/resource-name";

// --- External code systems ---------------------------------------------------------------
inline constexpr char kSnomed[] = "http://snomed.info/sct";
inline constexpr char kLoinc[] = "http://loinc.org";
inline constexpr char kDicom[] = "http://dicom.nema.org/resources/ontology/DCM";

// CarePlan.category (SNOMED CT; to be confirmed by clinical review).
extern const Code kMentalHealthCarePlan;    // 718347000
extern const Code kMentalHealthCrisisPlan;  // 736253002
// Consent.scope and Consent.category.
extern const Code kPrivacyConsentScope;  // consentscope#patient-privacy
extern const Code kConsentDocument;      // LOINC 59284-0
// Consent.provision.actor.role.
extern const Code kInformationRecipient;  // v3-ParticipationType#IRCP
extern const Code kGuardian;              // v3-RoleCode#GUARD
// Consent.provision.action.
extern const Code kConsentActionAccess;   // consentaction#access
extern const Code kConsentActionCorrect;  // consentaction#correct
// Provenance.agent.type and Provenance.activity.
extern const Code kProvenanceAuthor;    // provenance-participant-type#author
extern const Code kProvenanceAttester;  // provenance-participant-type#attester
// AuditEvent.
extern const Code kAuditPatientRecord;            // DCM 110110
extern const Code kAuditUserAuthentication;       // DCM 110114
extern const Code kAuditLogin;                    // DCM 110122
extern const Code kAuditLogout;                   // DCM 110123
extern const Code kAuditSourceApplicationServer;  // security-source-type#4
extern const Code kAuditEntityPerson;             // audit-entity-type#1
extern const Code kAuditEntitySystemObject;       // audit-entity-type#2
extern const Code kAuditRolePatient;              // object-role#1

// --- Coplan's own code systems -------------------------------------------------------------
inline constexpr char kRpcMethodSystem[] = "https://coplan.app/fhir/CodeSystem/rpc-method";

// CarePlan.category of a decision record.
extern const Code kSharedDecisionCategory;
// CarePlan.activity.detail.code: what an activity is, by the plan part it comes from.
extern const Code kSectionGoalStep;
extern const Code kSectionCareAction;
extern const Code kSectionMedicationPreference;
extern const Code kSectionUnacceptableMedication;
extern const Code kSectionPlanReview;
extern const Code kSectionWarningSign;
extern const Code kSectionCopingStrategy;
extern const Code kSectionDistraction;
extern const Code kSectionHelpContact;
extern const Code kSectionProfessionalContact;
extern const Code kSectionCrisisService;
extern const Code kSectionSafeEnvironment;
extern const Code kSectionReasonForLiving;
extern const Code kSectionWishIfUnwell;
extern const Code kSectionRefusalIfUnwell;
extern const Code kSectionPracticalArrangement;
extern const Code kSectionWhoMaySee;
extern const Code kSectionAdvanceDecision;
extern const Code kSectionDecision;
extern const Code kSectionDecisionFollowUp;
// A goal whose description is empty (Goal.description is required).
extern const Code kSectionGoal;
// CareTeam.participant.role.
extern const Code kKeyWorkerRole;
extern const Code kCareTeamMemberRole;
// Consent.policyRule.
extern const Code kPolicyGrant;
extern const Code kPolicyProxyByPerson;
extern const Code kPolicyProxyByStaff;
// The option grid's "wait and see" option (PlanDefinition.action.code).
extern const Code kWaitAndSeeOption;

// Coplan enums as codes of Coplan's code systems; nullptr for UNSPECIFIED.
const Code* PreferenceTopicCode(v1::PreferenceTopic topic);
const Code* SignOffRoleCode(v1::SignOffRole role);
const Code* DocumentKindCode(v1::DocumentKind kind);
const Code* CompetenceCode(v1::CompetenceDecision decision);
const Code* DecisionStageCode(v1::DecisionStage stage);
const Code* DecisionMakerModeCode(v1::DecisionMakerMode mode);
const Code* DialogDomainCode(v1::DialogDomain domain);
// Provenance.activity of a revision (v3-DataOperation).
Code RevisionActivity(v1::RevisionKind kind);

// --- Coplan enums onto FHIR's required value sets ------------------------------------------
const char* GoalLifecycleStatus(v1::GoalStatus status);
const Code* GoalAchievement(v1::GoalStatus status);  // nullptr when none applies
const char* ActionActivityStatus(v1::ActionStatus status);
const char* DecisionCarePlanStatus(v1::DecisionStatus status);
const char* DecisionActivityStatus(v1::DecisionStatus status);
const char* GrantConsentStatus(v1::GrantState state);
const char* ProxyConsentStatus(v1::ProxyState state);
const char* AuditEventAction(v1::AuditAction action);
const char* AuditEventOutcome(v1::AuditOutcome outcome);

// --- Extensions ----------------------------------------------------------------------------
inline constexpr char kAboutMeExtension[] = "https://coplan.app/fhir/StructureDefinition/about-me";
inline constexpr char kGoalSupporterExtension[] =
    "https://coplan.app/fhir/StructureDefinition/goal-supporter";
inline constexpr char kPreferenceTopicExtension[] =
    "https://coplan.app/fhir/StructureDefinition/preference-topic";
inline constexpr char kAdvanceDecisionExtension[] =
    "https://coplan.app/fhir/StructureDefinition/advance-decision";
inline constexpr char kAgreedRevisionExtension[] =
    "https://coplan.app/fhir/StructureDefinition/agreed-revision";
inline constexpr char kRevisionExtension[] = "https://coplan.app/fhir/StructureDefinition/revision";
inline constexpr char kChangedPathExtension[] =
    "https://coplan.app/fhir/StructureDefinition/changed-path";
inline constexpr char kCompetenceDecisionExtension[] =
    "https://coplan.app/fhir/StructureDefinition/competence-decision";
inline constexpr char kAuthorRoleExtension[] =
    "https://coplan.app/fhir/StructureDefinition/author-role";
inline constexpr char kGridFundingExtension[] =
    "https://coplan.app/fhir/StructureDefinition/grid-funding";
inline constexpr char kGridConflictOfInterestExtension[] =
    "https://coplan.app/fhir/StructureDefinition/grid-conflict-of-interest";
inline constexpr char kReadingAgeExtension[] =
    "https://coplan.app/fhir/StructureDefinition/reading-age";
inline constexpr char kAuditSequenceExtension[] =
    "https://coplan.app/fhir/StructureDefinition/audit-sequence";

// --- Canonical URLs --------------------------------------------------------------------------
inline constexpr char kCoplanFhirBase[] = "https://coplan.app/fhir/";

}  // namespace fhir
}  // namespace coplan
