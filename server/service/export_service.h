// Exports of a person's records: a FHIR R4 Bundle for other health records, the personal
// data archive (the person's right of access, UK GDPR Article 15) and the printed crisis
// plan. An export is made of the same calls as the API, as the caller, so the access
// rules, the withholdings and the audit trail apply to it exactly as to any read; this
// service only decides which parts the caller may see and gathers them
// (server/export/person_records.h), and the fhir, print and export layers turn them into
// formats.
//
//   ExportService exports(db, gate, audit, {&documents, &people, &auth, &audit_service, &grids});
//   COPLAN_ASSIGN_OR_RETURN(v1::FhirBundle bundle, exports.FhirBundle(caller, request));
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "coplan/v1/export_service.pb.h"
#include "server/export/person_records.h"
#include "server/export/zip_stream.h"
#include "server/service/access_gate.h"
#include "server/service/audit_log.h"
#include "server/service/audit_service.h"
#include "server/service/auth_service.h"
#include "server/service/caller.h"
#include "server/service/decision_service.h"
#include "server/service/document_service.h"
#include "server/service/option_grid_service.h"
#include "server/service/people_service.h"

namespace coplan {

class Database;

// The services whose reads an export is made of.
struct ExportSources {
  DocumentService* documents = nullptr;
  PeopleService* people = nullptr;
  AuthService* auth = nullptr;
  AuditService* audit = nullptr;
  OptionGridService* grids = nullptr;
  DecisionService* decisions = nullptr;
};

class ExportService {
 public:
  ExportService(Database& db, AccessGate& gate, AuditLog& audit, ExportSources sources);

  absl::StatusOr<coplan::v1::FhirBundle> FhirBundle(
      const Caller& caller, const coplan::v1::ExportFhirBundleRequest& request);
  // Writes the archive to `sink` as it is made; returns once it is complete (or the
  // first error; CANCELLED when the sink refused a chunk).
  absl::Status PersonalData(const Caller& caller,
                            const coplan::v1::ExportPersonalDataRequest& request,
                            const ZipStream::Sink& sink);
  absl::StatusOr<coplan::v1::PrintedDocument> PrintCrisisPlan(
      const Caller& caller, const coplan::v1::PrintCrisisPlanRequest& request);

 private:
  // Which parts of the person's records the caller may read (decided once, up front, so
  // that the export never tries what would be refused).
  struct Parts {
    bool care_team = false;
    bool grants_given = false;
    bool proxies = false;
    bool access_log = false;
    bool own_account = false;  // the caller exports their own records
  };
  // Checks that the caller has a relationship with the person (NOT_FOUND otherwise, as
  // for any read, audited as refused), and may read the access log when they want it.
  absl::StatusOr<Parts> Allowed(const Caller& caller, const std::string& person_id,
                                const std::string& resource, bool wants_access_log);
  // The export itself, in the person's access log (each part read is recorded as read).
  absl::Status RecordExport(const Caller& caller, const std::string& person_id,
                            const std::string& resource);
  // The person, the documents the caller may read (all, or the one named), their
  // revisions, the grid versions of decisions, and the relationship parts allowed.
  absl::StatusOr<PersonRecords> Gather(const Caller& caller, const std::string& person_id,
                                       const Parts& parts, const std::string& only_document);
  absl::Status GatherAccessLog(const Caller& caller, const std::string& person_id,
                               PersonRecords& records);

  Database& db_;
  AccessGate& gate_;
  AuditLog& audit_;
  ExportSources sources_;
};

}  // namespace coplan
