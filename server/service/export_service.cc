#include "server/service/export_service.h"

#include <google/protobuf/util/json_util.h>

#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/common/resource_names.h"
#include "server/common/status_macros.h"
#include "server/domain/access_policy.h"
#include "server/fhir/fhir_bundle.h"
#include "server/print/crisis_plan_pdf.h"
#include "server/print/print_labels.h"
#include "server/service/call_audit.h"
#include "server/store/database.h"

namespace coplan {
namespace {

using google::protobuf::Message;

// Lists are read in pages of the most each list call serves.
constexpr int kPageSize = 500;
// The access log goes into the archive (and its FHIR AuditEvents) a page at a time, so
// a long log never sits whole in memory.
constexpr int kAccessLogPage = 500;

bool MayBeAbsent(const absl::Status& status) {
  return status.code() == absl::StatusCode::kNotFound ||
         status.code() == absl::StatusCode::kPermissionDenied;
}

std::string ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;  // the proto3 JSON mapping: lowerCamelCase
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

// A JSON array of messages in the proto3 JSON mapping.
template <typename Messages>
std::string JsonArray(const Messages& messages) {
  std::string json = "[";
  bool first = true;
  for (const auto& message : messages) {
    absl::StrAppend(&json, first ? "\n" : ",\n", ToJson(message));
    first = false;
  }
  absl::StrAppend(&json, first ? "]\n" : "\n]\n");
  return json;
}

// A document's folder in the archive: "people/p/plans/crisis" is "plans/crisis/".
std::string ArchiveFolder(const std::string& document) {
  return document.substr(document.find('/', document.find('/') + 1) + 1) + "/";
}

// Everyone the records mention as related to the person (care team, grantees, proxies,
// authors and signers), by name, with what the records themselves say of them. People the
// access log alone names (an administrator, someone refused) are not among them.
void NamePeople(PersonRecords& records) {
  auto note = [&](const std::string& name, const std::string& display_name, bool clinician) {
    if (name.empty() || name == records.person.name()) return;
    v1::Person& person = records.people[name];
    person.set_name(name);
    if (person.display_name().empty()) person.set_display_name(display_name);
    if (clinician) person.set_clinician(true);
  };
  for (const auto& member : records.care_team) {
    note(member.clinician(), member.clinician_display_name(), true);
  }
  for (const auto& grant : records.grants_given) {
    note(grant.grantee(), grant.grantee_display_name(), false);
  }
  for (const auto& proxy : records.proxies) note(proxy.proxy(), proxy.proxy_display_name(), false);
  for (const auto& history : records.histories) {
    for (const auto& revision : history.revisions) note(revision.author(), "", false);
  }
  for (const auto& plan : records.plans) {
    note(plan.creator(), "", false);
    note(plan.last_editor(), "", false);
    for (const auto& sign_off : plan.agreement().sign_offs()) {
      note(sign_off.person(), "", sign_off.role() == v1::SIGN_OFF_ROLE_CLINICIAN);
    }
  }
  for (const auto& decision : records.decisions) {
    note(decision.creator(), "", false);
    note(decision.last_editor(), "", false);
    for (const auto& sign_off : decision.agreement().sign_offs()) {
      note(sign_off.person(), "", sign_off.role() == v1::SIGN_OFF_ROLE_CLINICIAN);
    }
  }
}

// The display name the records give someone; empty when the caller may not know it.
std::string DisplayNameOf(const PersonRecords& records, const std::string& name) {
  if (name == records.person.name()) return records.person.display_name();
  auto it = records.people.find(name);
  return it != records.people.end() ? it->second.display_name() : "";
}

// What the printed plan says about its agreement: the clinicians who signed off the
// agreed revision, when it is still the current one (named as "a clinician in the care
// team" to a reader who may not see the care team).
PrintContext PrintContextFor(const v1::Plan& plan, const PersonRecords& records,
                             const std::string& locale, absl::Time now) {
  PrintContext context;
  context.locale = locale;
  context.person_display_name = records.person.display_name();
  context.printed_time = now;
  if (!absl::LoadTimeZone("Europe/London", &context.time_zone)) {
    context.time_zone = absl::UTCTimeZone();
  }
  const v1::Agreement& agreement = plan.agreement();
  if (agreement.agreed_revision() > 0 && !agreement.out_of_date()) {
    context.agreed_revision = agreement.agreed_revision();
    const PrintLabels* labels = FindPrintLabels(locale);
    for (const auto& sign_off : agreement.sign_offs()) {
      if (sign_off.role() != v1::SIGN_OFF_ROLE_CLINICIAN ||
          sign_off.revision() != agreement.agreed_revision()) {
        continue;
      }
      std::string name = DisplayNameOf(records, sign_off.person());
      if (name.empty() && labels != nullptr) name = labels->care_team_clinician;
      context.agreed_with.push_back({std::move(name), FromTimestamp(sign_off.sign_time())});
    }
  }
  return context;
}

// The catalogue's locale for what was asked ("cy-GB" is "cy"; empty is English).
absl::StatusOr<std::string> CheckedLocale(const std::string& requested) {
  const PrintLabels* labels = FindPrintLabels(requested.empty() ? "en" : requested);
  if (labels == nullptr) {
    // Echoed only when short: the message is for a developer, not a mirror.
    const std::string shown = requested.size() <= 20 ? absl::StrCat("\"", requested, "\" ") : "";
    return InvalidFieldError("locale", absl::StrCat(shown, "is not supported; supported locales: ",
                                                    absl::StrJoin(SupportedPrintLocales(), ", ")));
  }
  return std::string(labels->locale);
}

}  // namespace

ExportService::ExportService(Database& db, AccessGate& gate, AuditLog& audit, ExportSources sources)
    : db_(db), gate_(gate), audit_(audit), sources_(sources) {}

absl::StatusOr<ExportService::Parts> ExportService::Allowed(const Caller& caller,
                                                            const std::string& person_id,
                                                            const std::string& resource,
                                                            bool wants_access_log) {
  CallAudit audit(audit_, caller);
  AccessFacts facts;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const std::string parent = PersonName(person_id);
    const auto entry =
        PersonEntry::For(PersonNeed::kKnow, v1::AUDIT_ACTION_READ, resource, parent, "");
    COPLAN_ASSIGN_OR_RETURN(facts, gate_.Person(tx, caller, person_id, entry, &audit));
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  const PersonPermissions can = PermissionsForPerson(facts, caller.now);
  Parts parts;
  parts.care_team = can.full_profile || can.list_all_documents;
  parts.grants_given = can.manage_sharing;
  parts.proxies = can.full_profile;
  parts.access_log = can.read_access_log;
  parts.own_account = caller.person_id == person_id;
  if (wants_access_log && !parts.access_log) {
    return audit.Finish(
        audit.Deny(person_id, v1::AUDIT_ACTION_READ, resource,
                   PermissionDeniedError("only the person reads their access log")));
  }
  return parts;
}

absl::Status ExportService::RecordExport(const Caller& caller, const std::string& person_id,
                                         const std::string& resource) {
  return CallAudit(audit_, caller).Read(person_id, resource);
}

absl::StatusOr<PersonRecords> ExportService::Gather(const Caller& caller,
                                                    const std::string& person_id,
                                                    const Parts& parts,
                                                    const std::string& only_document) {
  PersonRecords records;
  records.export_time = caller.now;
  const std::string parent = PersonName(person_id);

  // The documents first: a single one that cannot be read ends the export before anything
  // else is read.
  std::vector<DocumentPtr> documents;
  if (!only_document.empty()) {
    COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(only_document, "document"));
    COPLAN_ASSIGN_OR_RETURN(DocumentPtr document, sources_.documents->Get(caller, name));
    documents.push_back(std::move(document));
  } else {
    for (Collection collection : {Collection::kPlans, Collection::kDecisions}) {
      std::string token;
      do {
        COPLAN_ASSIGN_OR_RETURN(DocumentList page,
                                sources_.documents->List(caller, collection, parent, 0,
                                                         /*show_deleted=*/false, kPageSize, token));
        for (auto& document : page.documents) documents.push_back(std::move(document));
        token = page.next_page_token;
      } while (!token.empty());
    }
  }
  COPLAN_ASSIGN_OR_RETURN(records.person, sources_.people->GetPerson(caller, parent));
  for (DocumentPtr& document : documents) {
    std::string name;
    if (auto* plan = dynamic_cast<v1::Plan*>(document.get())) {
      name = plan->name();
      records.plans.push_back(std::move(*plan));
    } else if (auto* decision = dynamic_cast<v1::DecisionRecord*>(document.get())) {
      name = decision->name();
      if (!records.grid_versions.count(decision->option_grid_version())) {
        auto version = sources_.grids->GetVersion(caller, decision->option_grid_version());
        if (version.ok()) {
          records.grid_versions[decision->option_grid_version()] = *std::move(version);
        } else if (!MayBeAbsent(version.status())) {
          return version.status();
        }
      }
      records.decisions.push_back(std::move(*decision));
    }
    DocumentHistory history;
    history.document = name;
    v1::ListRevisionsRequest request;
    request.set_parent(name);
    request.set_page_size(kPageSize);
    do {
      COPLAN_ASSIGN_OR_RETURN(v1::ListRevisionsResponse page,
                              sources_.documents->ListRevisions(caller, request));
      for (auto& revision : *page.mutable_revisions()) {
        history.revisions.push_back(std::move(revision));
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    records.histories.push_back(std::move(history));
  }

  if (parts.care_team) {
    v1::ListCareTeamMembersRequest request;
    request.set_parent(parent);
    request.set_page_size(kPageSize);
    do {
      COPLAN_ASSIGN_OR_RETURN(auto page, sources_.people->ListCareTeamMembers(caller, request));
      for (auto& member : *page.mutable_care_team_members())
        records.care_team.push_back(std::move(member));
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
  }
  if (parts.grants_given && only_document.empty()) {
    v1::ListGrantsRequest request;
    request.set_parent(parent);
    request.set_show_inactive(true);
    request.set_page_size(kPageSize);
    do {
      COPLAN_ASSIGN_OR_RETURN(auto page, sources_.people->ListGrants(caller, request));
      for (auto& grant : *page.mutable_grants()) {
        // An invitation code lets whoever holds it in: it is never exported.
        grant.clear_invitation_code();
        records.grants_given.push_back(std::move(grant));
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
  }
  if (parts.own_account && only_document.empty()) {
    COPLAN_ASSIGN_OR_RETURN(records.collaborate_responses,
                            sources_.decisions->ListOwnCollaborateResponses(caller));
  }
  if (parts.proxies && only_document.empty()) {
    v1::ListProxyAccessesRequest request;
    request.set_parent(parent);
    request.set_page_size(kPageSize);
    do {
      COPLAN_ASSIGN_OR_RETURN(auto page, sources_.people->ListProxyAccesses(caller, request));
      for (auto& proxy : *page.mutable_proxy_accesses()) {
        records.proxies.push_back(std::move(proxy));
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
  }
  NamePeople(records);
  return records;
}

absl::Status ExportService::GatherAccessLog(const Caller& caller, const std::string& person_id,
                                            PersonRecords& records) {
  v1::ListAccessEventsRequest request;
  request.set_parent(PersonName(person_id));
  request.set_page_size(kPageSize);
  do {
    COPLAN_ASSIGN_OR_RETURN(auto page, sources_.audit->ListAccessEvents(caller, request));
    for (auto& event : *page.mutable_events()) records.access_events.push_back(std::move(event));
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return absl::OkStatus();
}

absl::StatusOr<v1::FhirBundle> ExportService::FhirBundle(
    const Caller& caller, const v1::ExportFhirBundleRequest& request) {
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  if (!request.document().empty()) {
    // Checked before anything is read or recorded.
    COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(request.document(), "document"));
    if (name.person_id != person_id) {
      return InvalidFieldError("document", "must be a document of `parent`");
    }
  }
  const std::string resource = request.document().empty() ? request.parent() : request.document();
  COPLAN_ASSIGN_OR_RETURN(Parts parts,
                          Allowed(caller, person_id, resource, request.include_access_log()));
  COPLAN_ASSIGN_OR_RETURN(PersonRecords records,
                          Gather(caller, person_id, parts, request.document()));
  if (request.include_access_log()) {
    COPLAN_RETURN_IF_ERROR(GatherAccessLog(caller, person_id, records));
  }
  // The export itself, once it is sure to be answered (each part was recorded as read).
  COPLAN_RETURN_IF_ERROR(RecordExport(caller, person_id, resource));
  const nlohmann::json bundle = BuildFhirBundle(records);
  v1::FhirBundle response;
  response.set_json(bundle.dump());
  response.set_resource_count(
      static_cast<int32_t>(bundle.value("entry", nlohmann::json::array()).size()));
  return response;
}

absl::StatusOr<v1::PrintedDocument> ExportService::PrintCrisisPlan(
    const Caller& caller, const v1::PrintCrisisPlanRequest& request) {
  COPLAN_ASSIGN_OR_RETURN(DocumentName name,
                          ParseDocumentName(request.name(), Collection::kPlans, "name"));
  // Checked first: it depends on nothing about the person, so it tells nothing.
  COPLAN_ASSIGN_OR_RETURN(std::string locale, CheckedLocale(request.locale()));
  // Printing is a read: the document service audits it, and refuses it as it would a read.
  COPLAN_ASSIGN_OR_RETURN(DocumentPtr document, sources_.documents->Get(caller, name));
  const auto& plan = static_cast<const v1::Plan&>(*document);
  if (!plan.has_crisis_plan()) {
    return InvalidFieldError("name", "is not a crisis plan; only crisis plans are printed");
  }
  PersonRecords records;
  COPLAN_ASSIGN_OR_RETURN(records.person,
                          sources_.people->GetPerson(caller, PersonName(name.person_id)));
  if (plan.agreement().agreed_revision() > 0) {
    // The clinicians' names come from the care team, when the caller may see it (they
    // are "a clinician in the care team" otherwise).
    COPLAN_ASSIGN_OR_RETURN(Parts parts, Allowed(caller, name.person_id, request.name(), false));
    if (parts.care_team) {
      v1::ListCareTeamMembersRequest team;
      team.set_parent(PersonName(name.person_id));
      team.set_page_size(kPageSize);
      COPLAN_ASSIGN_OR_RETURN(auto members, sources_.people->ListCareTeamMembers(caller, team));
      for (auto& member : *members.mutable_care_team_members()) {
        records.care_team.push_back(std::move(member));
      }
    }
    NamePeople(records);
  }
  COPLAN_ASSIGN_OR_RETURN(
      PrintedPlan printed,
      coplan::PrintCrisisPlan(plan, PrintContextFor(plan, records, locale, caller.now)));
  v1::PrintedDocument response;
  response.set_pdf(std::move(printed.pdf));
  response.set_page_count(printed.pages);
  response.set_revision(plan.revision());
  response.set_locale(locale);
  return response;
}

namespace {

// The archive's files, as they are added, for the manifest.
class ArchiveWriter {
 public:
  ArchiveWriter(ZipStream& zip, absl::Time time) : zip_(zip), time_(time) {}

  absl::Status Add(const std::string& path, const std::string& contents,
                   const std::string& description) {
    COPLAN_RETURN_IF_ERROR(zip_.Add(path, contents, time_));
    nlohmann::json file = {{"path", path},
                           {"description", description},
                           {"bytes", contents.size()},
                           {"sha256", absl::BytesToHexString(Sha256(contents))}};
    files_.push_back(std::move(file));
    return absl::OkStatus();
  }
  const nlohmann::json& files() const { return files_; }

 private:
  ZipStream& zip_;
  const absl::Time time_;
  nlohmann::json files_ = nlohmann::json::array();
};

constexpr char kArchiveReadme[] =
    "Your records from Coplan\n"
    "========================\n"
    "\n"
    "This archive holds everything Coplan keeps about you that the person who asked for it\n"
    "may see (your right of access under UK GDPR Article 15). manifest.json lists every\n"
    "file, what it holds and its SHA-256 checksum.\n"
    "\n"
    "- person.json: who you are in Coplan (never passwords or other secrets).\n"
    "- plans/ and decisions/: each document as it is now (document.json), every change\n"
    "  ever made to it (revisions-NNNN.json, oldest first), and crisis plans ready to print\n"
    "  (crisis-plan-en.pdf).\n"
    "- care-team.json, grants-given.json, grants-received.json, proxies.json,\n"
    "  connections.json: who can see your records, and whose records you can see.\n"
    "- sessions.json: the devices signed in to your account.\n"
    "- collaborate-responses.json: your own CollaboRATE answers (no one else sees them\n"
    "  one by one).\n"
    "- access-log/events-NNNN.json: who looked at or changed your records, and when\n"
    "  (newest first).\n"
    "- fhir/: the same records as FHIR R4 (the standard NHS systems exchange), for\n"
    "  another health record to read: bundle.json, and the access log in\n"
    "  access-log-NNNN.json.\n"
    "\n"
    "The JSON files follow the Coplan API (proto3 JSON mapping): see the Coplan README.\n";

}  // namespace

absl::Status ExportService::PersonalData(const Caller& caller,
                                         const v1::ExportPersonalDataRequest& request,
                                         const ZipStream::Sink& sink) {
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  const std::string parent = PersonName(person_id);
  COPLAN_ASSIGN_OR_RETURN(Parts parts, Allowed(caller, person_id, parent, false));
  COPLAN_ASSIGN_OR_RETURN(PersonRecords records, Gather(caller, person_id, parts, ""));
  COPLAN_RETURN_IF_ERROR(RecordExport(caller, person_id, parent));

  ZipStream zip(sink);
  ArchiveWriter archive(zip, caller.now);
  COPLAN_RETURN_IF_ERROR(archive.Add("README.txt", kArchiveReadme, "what this archive holds"));
  COPLAN_RETURN_IF_ERROR(archive.Add("person.json", ToJson(records.person), "the person"));

  std::map<std::string, const DocumentHistory*> history_of;
  for (const DocumentHistory& history : records.histories) {
    history_of[history.document] = &history;
  }
  const DocumentHistory no_history;
  auto add_document = [&](const std::string& name, const Message& document) -> absl::Status {
    const auto found = history_of.find(name);
    const DocumentHistory& history = found != history_of.end() ? *found->second : no_history;
    const std::string folder = ArchiveFolder(name);
    COPLAN_RETURN_IF_ERROR(
        archive.Add(folder + "document.json", ToJson(document), "the document as it is now"));
    for (size_t first = 0, file = 1; first < history.revisions.size(); first += kPageSize, ++file) {
      std::string json = "[";
      for (size_t i = first; i < std::min(history.revisions.size(), first + kPageSize); ++i) {
        absl::StrAppend(&json, i == first ? "\n" : ",\n", ToJson(history.revisions[i]));
      }
      absl::StrAppend(&json, "\n]\n");
      COPLAN_RETURN_IF_ERROR(archive.Add(absl::StrFormat("%srevisions-%04d.json", folder, file),
                                         json, "every change to the document, oldest first"));
    }
    return absl::OkStatus();
  };
  for (size_t i = 0; i < records.plans.size(); ++i) {
    const v1::Plan& plan = records.plans[i];
    COPLAN_RETURN_IF_ERROR(add_document(plan.name(), plan));
    if (plan.has_crisis_plan()) {
      auto printed =
          coplan::PrintCrisisPlan(plan, PrintContextFor(plan, records, "en", caller.now));
      if (!printed.ok()) return printed.status();
      COPLAN_RETURN_IF_ERROR(archive.Add(ArchiveFolder(plan.name()) + "crisis-plan-en.pdf",
                                         printed->pdf, "the crisis plan, ready to print"));
    }
  }
  for (size_t i = 0; i < records.decisions.size(); ++i) {
    const v1::DecisionRecord& decision = records.decisions[i];
    COPLAN_RETURN_IF_ERROR(add_document(decision.name(), decision));
  }
  if (parts.care_team) {
    COPLAN_RETURN_IF_ERROR(
        archive.Add("care-team.json", JsonArray(records.care_team), "the person's care team"));
  }
  if (parts.grants_given) {
    COPLAN_RETURN_IF_ERROR(archive.Add("grants-given.json", JsonArray(records.grants_given),
                                       "access the person gave to others"));
  }
  if (parts.proxies) {
    COPLAN_RETURN_IF_ERROR(
        archive.Add("proxies.json", JsonArray(records.proxies), "who may act for the person"));
  }
  if (parts.own_account) {
    // Only the person's own: what others gave them, and their devices.
    std::vector<v1::Grant> received;
    v1::ListGrantsRequest grants;
    grants.set_received(true);
    grants.set_show_inactive(true);
    grants.set_page_size(kPageSize);
    do {
      COPLAN_ASSIGN_OR_RETURN(auto page, sources_.people->ListGrants(caller, grants));
      for (auto& grant : *page.mutable_grants()) {
        grant.clear_invitation_code();
        received.push_back(std::move(grant));
      }
      grants.set_page_token(page.next_page_token());
    } while (!grants.page_token().empty());
    COPLAN_RETURN_IF_ERROR(
        archive.Add("grants-received.json", JsonArray(received), "access others gave the person"));
    std::vector<v1::Connection> connections;
    v1::ListConnectionsRequest connection_request;
    connection_request.set_page_size(kPageSize);
    do {
      COPLAN_ASSIGN_OR_RETURN(auto page,
                              sources_.people->ListConnections(caller, connection_request));
      for (auto& connection : *page.mutable_connections()) {
        connections.push_back(std::move(connection));
      }
      connection_request.set_page_token(page.next_page_token());
    } while (!connection_request.page_token().empty());
    COPLAN_RETURN_IF_ERROR(archive.Add("collaborate-responses.json",
                                       JsonArray(records.collaborate_responses),
                                       "the person's own CollaboRATE answers"));
    COPLAN_RETURN_IF_ERROR(archive.Add("connections.json", JsonArray(connections),
                                       "whose records the person can see, and why"));
    v1::ListSessionsRequest sessions;
    sessions.set_parent(parent);
    COPLAN_ASSIGN_OR_RETURN(auto listed, sources_.auth->ListSessions(caller, sessions));
    COPLAN_RETURN_IF_ERROR(archive.Add("sessions.json", JsonArray(listed.sessions()),
                                       "the person's sessions (devices signed in)"));
  }

  // Everything but the access log as one FHIR Bundle; then the log, a page at a time.
  COPLAN_RETURN_IF_ERROR(archive.Add("fhir/bundle.json", BuildFhirBundle(records).dump(2),
                                     "the records as a FHIR R4 Bundle"));
  if (parts.access_log) {
    v1::ListAccessEventsRequest log;
    log.set_parent(parent);
    log.set_page_size(kAccessLogPage);
    int file = 1;
    do {
      COPLAN_ASSIGN_OR_RETURN(auto page, sources_.audit->ListAccessEvents(caller, log));
      COPLAN_RETURN_IF_ERROR(archive.Add(absl::StrFormat("access-log/events-%04d.json", file),
                                         JsonArray(page.events()),
                                         "who looked at or changed the records, newest first"));
      PersonRecords log_records;
      log_records.person = records.person;
      log_records.export_time = records.export_time;
      log_records.people = records.people;
      log_records.access_events.assign(page.events().begin(), page.events().end());
      COPLAN_RETURN_IF_ERROR(archive.Add(absl::StrFormat("fhir/access-log-%04d.json", file),
                                         BuildFhirBundle(log_records).dump(2),
                                         "the access log as FHIR R4 AuditEvent resources"));
      log.set_page_token(page.next_page_token());
      ++file;
    } while (!log.page_token().empty());
  }

  nlohmann::json manifest = {
      {"format", "coplan-personal-data-export"},
      {"format_version", 1},
      {"person", parent},
      {"exported_by", caller.person_name()},
      {"export_time", absl::FormatTime(absl::RFC3339_sec, caller.now, absl::UTCTimeZone())},
      {"files", archive.files()}};
  COPLAN_RETURN_IF_ERROR(zip.Add("manifest.json", manifest.dump(2) + "\n", caller.now));
  return zip.Finish();
}

}  // namespace coplan
