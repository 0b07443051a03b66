// What an export holds about one person, exactly as the caller may see it. The export
// service (server/service/export_service.h) gathers it through the same reads as the
// gRPC API, so the access rules and the withholdings have already been applied: what is
// withheld from the caller is simply not here. Other layers only turn it into formats: a
// FHIR R4 Bundle (server/fhir/fhir_bundle.h) and the personal data archive
// (server/service/export_service.cc, with zip_stream.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "coplan/v1/audit_service.pb.h"
#include "coplan/v1/decision.pb.h"
#include "coplan/v1/editing.pb.h"
#include "coplan/v1/option_grid.pb.h"
#include "coplan/v1/people_service.pb.h"
#include "coplan/v1/plan.pb.h"

namespace coplan {

// The revisions of one document, oldest first.
struct DocumentHistory {
  std::string document;  // "people/{person}/plans/{plan}" or ".../decisions/{decision}"
  std::vector<coplan::v1::Revision> revisions;
};

struct PersonRecords {
  // The person the records are about ("people/{person}"); nhs_number may be empty.
  coplan::v1::Person person;
  // Everyone else the records mention whom the caller may know of (care team members,
  // grantees, proxies, authors of revisions, signers), by name "people/{person}". Only
  // name, display_name and clinician are filled in. A name mentioned in the records but
  // missing here is exported without a display name.
  std::map<std::string, coplan::v1::Person> people;

  std::vector<coplan::v1::Plan> plans;
  std::vector<coplan::v1::DecisionRecord> decisions;
  // The option-grid versions the decisions were made from, by name.
  std::map<std::string, coplan::v1::OptionGridVersion> grid_versions;
  // The person's own CollaboRATE answers (only in the person's own export).
  std::vector<coplan::v1::CollaborateResponse> collaborate_responses;

  std::vector<coplan::v1::CareTeamMember> care_team;
  std::vector<coplan::v1::Grant> grants_given;         // by the person to others
  std::vector<coplan::v1::ProxyAccess> proxies;        // who acts for the person
  std::vector<DocumentHistory> histories;              // one per exported document
  std::vector<coplan::v1::AccessEvent> access_events;  // the person's access log

  absl::Time export_time;
};

}  // namespace coplan
