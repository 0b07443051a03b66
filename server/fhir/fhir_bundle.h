// The FHIR R4 (4.0.1) mapping of a person's records (docs/fhir-mapping.md): one Bundle of
// type "collection" holding the person (Patient), the people the records mention
// (Practitioner, RelatedPerson), plans (CarePlan, Goal, CareTeam), decision records
// (CarePlan, QuestionnaireResponse), option-grid versions (PlanDefinition), grants and
// proxies (Consent), revisions and sign-offs (Provenance) and the access log (AuditEvent).
//
//   nlohmann::json bundle = BuildFhirBundle(records);
//   archive.Add("fhir-bundle.json", bundle.dump(2));
//
// Every fullUrl is "urn:uuid:<uuid>" derived from the Coplan resource name, so the same
// record has the same id in every export, and every reference resolves inside the Bundle.
#pragma once

#include <nlohmann/json.hpp>

#include "server/export/person_records.h"

namespace coplan {

// The person's records as one FHIR R4 Bundle of type "collection".
nlohmann::json BuildFhirBundle(const PersonRecords& records);

}  // namespace coplan
