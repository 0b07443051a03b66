// Exports end to end, through real gRPC against a real PostgreSQL: the FHIR R4 Bundle
// (checked by two independent validators from PyPI, and for references that resolve), the
// personal data archive (read back with libarchive), the printed crisis plan (read back
// with poppler's pdftotext), the NHS number, and who may export what.
#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "coplan/v1/export_service.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/api/export_handler.h"
#include "server/common/crypto.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "tests/support/edit_operations.h"
#include "tests/support/process.h"
#include "tests/support/records.h"
#include "tests/support/test_cluster.h"
#include "tests/support/test_server.h"

namespace coplan {
namespace {

using client::remote::ErrorDetail;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestServer;
using testing::TestUser;
using Client = client::remote::RpcClient;

// A scratch directory, removed with its files.
class ScratchDir {
 public:
  ScratchDir() : path_(testing::MakeTempDir("coplan-export")) {}
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string Write(const std::string& name, const std::string& contents) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }

 private:
  std::string path_;
};

// The text of a PDF, as poppler's pdftotext reads it back.
testing::ProcessResult PdfText(const std::string& pdf) {
  return testing::RunProgram({"/usr/bin/pdftotext", "-enc", "UTF-8", pdf, "-"});  // poppler-utils
}

// Both FHIR validators on the given files: the output of any that refused, empty when
// both accepted every file. The validators come from scripts/install-test-tools.
std::string ValidatorComplaints(const std::vector<std::string>& files) {
  std::string complaints;
  for (const char* variable : {"COPLAN_FHIR_STRUCTURE_VALIDATOR", "COPLAN_FHIR_CODE_VALIDATOR"}) {
    const char* command = std::getenv(variable);
    if (command == nullptr || *command == '\0') {
      return absl::StrCat(variable,
                          " is not set: run scripts/install-test-tools and the tests "
                          "through ctest (tests/CMakeLists.txt sets it)");
    }
    // "<python> <script>", then the files.
    std::vector<std::string> argv = absl::StrSplit(command, ' ', absl::SkipEmpty());
    argv.insert(argv.end(), files.begin(), files.end());
    const testing::ProcessResult run = testing::RunProgram(argv, "", absl::Minutes(5));
    if (run.exit_code != 0) {
      absl::StrAppend(&complaints, variable, " (exit ", run.exit_code, "):\n", run.output);
    }
  }
  return complaints;
}

// Every "reference" anywhere in the bundle names a fullUrl of one of its entries.
std::vector<std::string> UnresolvedReferences(const nlohmann::json& bundle) {
  std::set<std::string> urls;
  for (const auto& entry : bundle.at("entry")) urls.insert(entry.at("fullUrl").get<std::string>());
  std::vector<std::string> unresolved;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& node) {
    if (node.is_object()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (it.key() == "reference" && it.value().is_string() &&
            !urls.count(it.value().get<std::string>())) {
          unresolved.push_back(it.value().get<std::string>());
        }
        walk(it.value());
      }
    } else if (node.is_array()) {
      for (const auto& item : node) walk(item);
    }
  };
  walk(bundle);
  return unresolved;
}

std::multiset<std::string> ResourceTypes(const nlohmann::json& bundle) {
  std::multiset<std::string> types;
  for (const auto& entry : bundle.at("entry")) {
    types.insert(entry.at("resource").at("resourceType").get<std::string>());
  }
  return types;
}

// The files of a ZIP archive, by path.
std::map<std::string, std::string> Unzip(const std::string& zip) {
  std::map<std::string, std::string> files;
  struct archive* reader = archive_read_new();
  archive_read_support_format_zip(reader);
  EXPECT_EQ(archive_read_open_memory(reader, zip.data(), zip.size()), ARCHIVE_OK);
  struct archive_entry* entry;
  while (archive_read_next_header(reader, &entry) == ARCHIVE_OK) {
    std::string contents;
    char buffer[65536];
    la_ssize_t n;
    while ((n = archive_read_data(reader, buffer, sizeof buffer)) > 0) contents.append(buffer, n);
    EXPECT_EQ(n, 0) << archive_error_string(reader);
    files[archive_entry_pathname_utf8(entry)] = std::move(contents);
  }
  archive_read_free(reader);
  return files;
}

std::string FieldOf(const absl::Status& status) {
  auto bad = ErrorDetail<google::rpc::BadRequest>(status);
  return bad && bad->field_violations_size() > 0 ? bad->field_violations(0).field() : "";
}

class ExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = TestServer::Start().release(); }
  static void TearDownTestSuite() { delete server_; }

  void SetUp() override {
    alex_ = server_->CreateUser("Alex Morgan", {.nhs_number = NextNhsNumber()});
    okafor_ = server_->CreateUser("Dr Sam Okafor", {.clinician = true, .grid_author = true});
    jordan_ = server_->CreateUser("Jordan Morgan");
    testing::JoinCareTeam(*server_, alex_, okafor_);
  }

  // A fresh valid NHS number from the never-issued 999 range, for each test's person.
  static std::string NextNhsNumber() {
    static int next = 1000;
    for (;;) {
      std::string digits = absl::StrCat("999", next++);
      digits.resize(9, '0');
      int sum = 0;
      for (int i = 0; i < 9; ++i) sum += (digits[i] - '0') * (10 - i);
      int check = 11 - sum % 11;
      if (check == 11) check = 0;
      if (check == 10) continue;
      return digits + static_cast<char>('0' + check);
    }
  }

  // Alex's crisis plan, in their own words (some in other scripts), with a crisis line.
  v1::Plan CreateCrisisPlan() {
    v1::CreatePlanRequest request;
    request.set_parent(alex_.name);
    request.set_plan_id("crisis");
    auto* plan = request.mutable_plan();
    plan->set_title("When things get hard 🌧️");
    auto* crisis = plan->mutable_crisis_plan();
    crisis->add_warning_signs()->set_text("Not sleeping, staying in my room");
    crisis->add_warning_signs()->set_text("أشعر بالوحدة");  // Arabic: "I feel lonely"
    crisis->add_coping_strategies()->set_text("Walk the dog by the river");
    auto* sister = crisis->add_help_contacts();
    sister->set_id("sister");
    sister->set_name("Ceri (my sister)");
    sister->set_phone("07700 900123");
    auto* line = crisis->add_professional_contacts();
    line->set_name("Samaritans");
    line->set_phone("116 123");
    line->set_hours("24 hours, every day");
    line->set_crisis_service(true);
    crisis->add_reasons_for_living()->set_text("My little brother");
    auto created = alex_.client->Call(&v1::PlanService::Stub::CreatePlan, request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::Plan();
  }

  v1::Plan CreateCarePlan() {
    v1::CreatePlanRequest request;
    request.set_parent(alex_.name);
    request.set_plan_id("care");
    auto* plan = request.mutable_plan();
    plan->set_title("My care plan");
    auto* care = plan->mutable_care_plan();
    care->mutable_about_me()->set_what_matters("My friends and music");
    auto* goal = care->add_goals();
    goal->set_description("Go back to college in September");
    goal->add_steps()->set_text("Mornings first");
    goal->set_status(v1::GOAL_STATUS_IN_PROGRESS);
    auto* action = care->add_actions();
    action->set_description("Book a review with the college counsellor");
    action->set_responsible("Dr Okafor");
    action->set_status(v1::ACTION_STATUS_OPEN);
    auto* dialog = care->mutable_dialog();
    auto* rating = dialog->add_ratings();
    rating->set_domain(v1::DIALOG_DOMAIN_MENTAL_HEALTH);
    rating->set_score(3);
    rating->set_wants_more_help(true);
    auto created = alex_.client->Call(&v1::PlanService::Stub::CreatePlan, request);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::Plan();
  }

  void Edit(TestUser& user, const std::string& name, int64_t base,
            std::vector<v1::EditOperation> ops) {
    v1::EditDocumentRequest request;
    request.set_name(name);
    request.set_base_revision(base);
    request.set_idempotency_key(NewRandomToken(16));
    for (auto& op : ops) *request.add_operations() = std::move(op);
    auto edited = user.client->Call(&v1::EditingService::Stub::EditDocument, request);
    ASSERT_TRUE(edited.ok()) << edited.status();
  }

  void SignOff(TestUser& user, const std::string& name, int64_t revision) {
    v1::SignOffDocumentRequest request;
    request.set_name(name);
    request.set_revision(revision);
    auto signed_off = user.client->Call(&v1::EditingService::Stub::SignOffDocument, request);
    ASSERT_TRUE(signed_off.ok()) << signed_off.status();
  }

  // A decision record of Alex's; when `decided`, made (option "wait") and answered with
  // CollaboRATE about Dr Okafor.
  std::string CreateDecision(bool decided = false) {
    const std::string version = testing::PublishGrid(
        *okafor_.client, testing::CompleteGrid("Low mood: first steps", TodayInUk(absl::Now())));
    v1::CreateDecisionRecordRequest request;
    request.set_parent(alex_.name);
    request.set_decision_record_id("low-mood");
    auto* record = request.mutable_decision_record();
    record->set_option_grid_version(version);
    record->set_stage(v1::DECISION_STAGE_CONSIDERING);
    record->mutable_sure()->set_sure_of_best_choice(v1::SURE_ANSWER_NO);
    record->mutable_sure()->set_understands_benefits_and_risks(v1::SURE_ANSWER_YES);
    record->mutable_sure()->set_clear_about_what_matters(v1::SURE_ANSWER_YES);
    record->mutable_sure()->set_enough_support(v1::SURE_ANSWER_NO);
    if (decided) {
      record->set_status(v1::DECISION_STATUS_DECIDED);
      record->mutable_outcome()->set_option_id("wait");
      *record->mutable_outcome()->mutable_decided_on() = ToDate(TodayInUk(absl::Now()));
    }
    auto created = alex_.client->Call(&v1::DecisionService::Stub::CreateDecisionRecord, request);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return "";
    if (decided) {
      v1::CreateCollaborateResponseRequest respond;
      respond.set_parent(created->name());
      auto* answer = respond.mutable_collaborate_response();
      answer->set_clinician(okafor_.name);
      answer->set_understand_health_issues(7);
      answer->set_listen_to_what_matters(8);
      answer->set_include_what_matters(9);
      auto answered =
          alex_.client->Call(&v1::DecisionService::Stub::CreateCollaborateResponse, respond);
      EXPECT_TRUE(answered.ok()) << answered.status();
    }
    return created->name();
  }

  static absl::StatusOr<nlohmann::json> Bundle(Client& user, const std::string& parent,
                                               const std::string& document = "",
                                               bool access_log = false) {
    v1::ExportFhirBundleRequest request;
    request.set_parent(parent);
    request.set_document(document);
    request.set_include_access_log(access_log);
    auto bundle = user.Call(&v1::ExportService::Stub::ExportFhirBundle, request);
    if (!bundle.ok()) return bundle.status();
    nlohmann::json json = nlohmann::json::parse(bundle->json());
    EXPECT_EQ(static_cast<int>(json.at("entry").size()), bundle->resource_count());
    return json;
  }

  struct Archive {
    absl::Status status;
    int chunks = 0;
    size_t largest_chunk = 0;
    size_t bytes = 0;
    std::string content_type;
    std::map<std::string, std::string> files;
  };
  static Archive PersonalData(Client& user, const std::string& parent) {
    v1::ExportPersonalDataRequest request;
    request.set_parent(parent);
    auto context = user.NewContext(absl::Seconds(60));
    auto reader = user.stub<v1::ExportService::Stub>().ExportPersonalData(context.get(), request);
    Archive archive;
    std::string zip;
    v1::ExportChunk chunk;
    while (reader->Read(&chunk)) {
      if (archive.chunks++ == 0) archive.content_type = chunk.content_type();
      archive.largest_chunk = std::max(archive.largest_chunk, chunk.data().size());
      zip += chunk.data();
    }
    archive.bytes = zip.size();
    archive.status = client::remote::FromGrpcStatus(reader->Finish());
    if (archive.status.ok()) archive.files = Unzip(zip);
    return archive;
  }

  static absl::StatusOr<v1::PrintedDocument> Print(Client& user, const std::string& name,
                                                   const std::string& locale) {
    v1::PrintCrisisPlanRequest request;
    request.set_name(name);
    request.set_locale(locale);
    return user.Call(&v1::ExportService::Stub::PrintCrisisPlan, request);
  }

  // Whether the person's access log has an allowed event of `method` by `actor`.
  bool Logged(const std::string& method, const TestUser& actor) {
    return CountLogged(method, actor) > 0;
  }
  int CountLogged(const std::string& method, const TestUser& actor,
                  v1::AuditOutcome outcome = v1::AUDIT_OUTCOME_ALLOWED) {
    v1::ListAccessEventsRequest request;
    request.set_parent(alex_.name);
    request.set_page_size(500);
    auto log = alex_.client->Call(&v1::AuditService::Stub::ListAccessEvents, request);
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return -1;
    int count = 0;
    for (const auto& event : log->events()) {
      if (event.method() == method && event.actor() == actor.name && event.outcome() == outcome) {
        ++count;
      }
    }
    return count;
  }

  static TestServer* server_;
  TestUser alex_;
  TestUser okafor_;
  TestUser jordan_;
  ScratchDir scratch_;
};

TestServer* ExportTest::server_ = nullptr;

TEST_F(ExportTest, TheFhirBundleHoldsThePersonsRecordsPassesBothValidatorsAndResolves) {
  const v1::Plan crisis = CreateCrisisPlan();
  const v1::Plan care = CreateCarePlan();
  Edit(okafor_, crisis.name(), crisis.revision(),
       {testing::InsertOp("crisis_plan.coping_strategies", R"({"text": "Call Ceri"})")});
  SignOff(alex_, crisis.name(), crisis.revision() + 1);
  SignOff(okafor_, crisis.name(), crisis.revision() + 1);
  const std::string decision = CreateDecision();
  testing::Grant(alex_, jordan_, crisis.name(), v1::ACCESS_LEVEL_READ);

  auto bundle = Bundle(*alex_.client, alex_.name, "", /*access_log=*/true);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ((*bundle)["resourceType"], "Bundle");
  EXPECT_EQ((*bundle)["type"], "collection");
  const auto types = ResourceTypes(*bundle);
  for (const char* type :
       {"Patient", "Practitioner", "RelatedPerson", "CarePlan", "Goal", "CareTeam",
        "QuestionnaireResponse", "Consent", "Provenance", "AuditEvent"}) {
    EXPECT_GE(types.count(type), 1u) << type << " is missing";
  }
  EXPECT_THAT(UnresolvedReferences(*bundle), ::testing::IsEmpty());

  const std::string text = bundle->dump();
  EXPECT_THAT(text, HasSubstr("https://fhir.nhs.uk/Id/nhs-number"));
  for (const auto& entry : (*bundle)["entry"]) {
    if (entry["resource"]["resourceType"] == "Patient") {
      bool has_nhs_number = false;
      for (const auto& identifier : entry["resource"]["identifier"]) {
        if (identifier["system"] == "https://fhir.nhs.uk/Id/nhs-number") {
          has_nhs_number = true;
          EXPECT_EQ(identifier["value"], server_->admin()
                                             .Call(&v1::PeopleService::Stub::GetPerson,
                                                   [&] {
                                                     v1::GetPersonRequest r;
                                                     r.set_name(alex_.name);
                                                     return r;
                                                   }())
                                             ->nhs_number());
        }
      }
      EXPECT_TRUE(has_nhs_number);
    }
  }
  // The person's own words, exactly, in any script.
  for (const char* words :
       {"Walk the dog by the river", "أشعر بالوحدة", "Call Ceri", "Go back to college in September",
        "24 hours, every day", "Dr Sam Okafor"}) {
    EXPECT_THAT(text, HasSubstr(words));
  }
  const std::string file = scratch_.Write("alex.json", bundle->dump(2));
  EXPECT_EQ(ValidatorComplaints({file}), "");
  EXPECT_TRUE(Logged("coplan.v1.ExportService/ExportFhirBundle", alex_));
}

TEST_F(ExportTest, TheValidatorsRefuseABrokenBundle) {
  CreateCrisisPlan();
  auto bundle = Bundle(*alex_.client, alex_.name);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  nlohmann::json bad_code = *bundle;
  nlohmann::json missing_status = *bundle;
  for (auto* broken : {&bad_code, &missing_status}) {
    for (auto& entry : (*broken)["entry"]) {
      if (entry["resource"]["resourceType"] != "CarePlan") continue;
      if (broken == &bad_code) {
        entry["resource"]["status"] = "bogus";
      } else {
        entry["resource"].erase("status");
      }
    }
  }
  EXPECT_NE(ValidatorComplaints({scratch_.Write("bad-code.json", bad_code.dump())}), "");
  EXPECT_NE(ValidatorComplaints({scratch_.Write("no-status.json", missing_status.dump())}), "");
}

TEST_F(ExportTest, WhatIsWithheldFromTheCallerIsAbsentFromTheirExport) {
  v1::Plan crisis = CreateCrisisPlan();
  v1::UpdatePlanRequest update;
  *update.mutable_plan() = crisis;
  auto* withholding = update.mutable_plan()->add_withholdings();
  withholding->add_paths("crisis_plan.help_contacts[sister]");
  withholding->add_withheld_from(okafor_.name);
  withholding->set_note("private");
  update.mutable_update_mask()->add_paths("withholdings");
  auto updated = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update);
  ASSERT_TRUE(updated.ok()) << updated.status();

  auto mine = Bundle(*alex_.client, alex_.name);
  auto theirs = Bundle(*okafor_.client, alex_.name);
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  EXPECT_THAT(mine->dump(), HasSubstr("Ceri (my sister)"));
  EXPECT_THAT(theirs->dump(), Not(HasSubstr("Ceri (my sister)")));
  EXPECT_THAT(theirs->dump(), Not(HasSubstr("07700 900123")));
  EXPECT_THAT(theirs->dump(), HasSubstr("Walk the dog by the river"));
  // A grantee sees only the granted document.
  CreateCarePlan();
  testing::Grant(alex_, jordan_, crisis.name(), v1::ACCESS_LEVEL_READ);
  auto granted = Bundle(*jordan_.client, alex_.name);
  ASSERT_TRUE(granted.ok()) << granted.status();
  EXPECT_THAT(granted->dump(), HasSubstr("Walk the dog by the river"));
  EXPECT_THAT(granted->dump(), Not(HasSubstr("Go back to college")));
  EXPECT_THAT(UnresolvedReferences(*theirs), ::testing::IsEmpty());
  EXPECT_EQ(ValidatorComplaints({scratch_.Write("clinician.json", theirs->dump()),
                                 scratch_.Write("grantee.json", granted->dump())}),
            "");
}

TEST_F(ExportTest, OneDocumentAlone) {
  const v1::Plan crisis = CreateCrisisPlan();
  CreateCarePlan();
  auto bundle = Bundle(*okafor_.client, alex_.name, crisis.name());
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(ResourceTypes(*bundle).count("CarePlan"), 1u);
  EXPECT_THAT(bundle->dump(), Not(HasSubstr("Go back to college")));
  EXPECT_THAT(UnresolvedReferences(*bundle), ::testing::IsEmpty());
}

TEST_F(ExportTest, SomeoneWithoutARelationshipLearnsNothing) {
  const v1::Plan crisis = CreateCrisisPlan();
  TestUser stranger = server_->CreateUser("Stranger");
  const std::string unknown = "people/nobody-at-all";
  std::vector<absl::Status> answers;
  for (const std::string& parent : {alex_.name, unknown}) {
    answers.push_back(Bundle(*stranger.client, parent).status());
    answers.push_back(PersonalData(*stranger.client, parent).status);
    answers.push_back(Print(*stranger.client, parent + "/plans/crisis", "en").status());
  }
  for (const absl::Status& answer : answers) {
    EXPECT_EQ(answer.code(), absl::StatusCode::kNotFound) << answer;
  }
  // The same answer for a real person as for nobody, word for word but the name.
  for (int i = 0; i < 3; ++i) {
    std::string real(answers[i].message());
    std::string none(answers[i + 3].message());
    EXPECT_EQ(real.replace(real.find(alex_.id), alex_.id.size(), "X"),
              none.replace(none.find("nobody-at-all"), 13, "X"));
  }
}

TEST_F(ExportTest, BadRequestsAreRefusedNamingTheField) {
  const v1::Plan crisis = CreateCrisisPlan();
  const v1::Plan care = CreateCarePlan();
  auto malformed = Bundle(*alex_.client, "persons/alex");
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(malformed.status()), "parent");
  auto elsewhere = Bundle(*alex_.client, alex_.name, "people/someone-else/plans/crisis");
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(elsewhere.status()), "document");
  auto not_a_document = Bundle(*alex_.client, alex_.name, alex_.name + "/notes/1");
  EXPECT_EQ(FieldOf(not_a_document.status()), "document");
  // Refused before anything was read: nothing in the log.
  EXPECT_EQ(CountLogged("coplan.v1.ExportService/ExportFhirBundle", alex_), 0);
  auto log = Bundle(*okafor_.client, alex_.name, "", /*access_log=*/true);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kPermissionDenied);
  // Refused as such in Alex's log, not recorded as an export.
  EXPECT_EQ(CountLogged("coplan.v1.ExportService/ExportFhirBundle", okafor_), 0);
  EXPECT_EQ(
      CountLogged("coplan.v1.ExportService/ExportFhirBundle", okafor_, v1::AUDIT_OUTCOME_DENIED),
      1);
  // A document that is not there is not an export either.
  testing::Grant(alex_, jordan_, crisis.name(), v1::ACCESS_LEVEL_READ);
  auto missing = Bundle(*jordan_.client, alex_.name, alex_.name + "/plans/no-such-plan");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CountLogged("coplan.v1.ExportService/ExportFhirBundle", jordan_), 0);

  auto french = Print(*alex_.client, crisis.name(), "fr");
  EXPECT_EQ(french.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(french.status()), "locale");
  EXPECT_THAT(std::string(french.status().message()), HasSubstr("cy, en"));
  auto welsh_in_wales = Print(*alex_.client, crisis.name(), "cy-GB");
  ASSERT_TRUE(welsh_in_wales.ok()) << welsh_in_wales.status();
  EXPECT_EQ(welsh_in_wales->locale(), "cy");
  auto care_plan = Print(*alex_.client, care.name(), "en");
  EXPECT_EQ(care_plan.status().code(), absl::StatusCode::kInvalidArgument);
  auto archive = PersonalData(*alex_.client, "people/");
  EXPECT_EQ(archive.status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ExportTest, ThePrintedCrisisPlanReadsBackInEnglishAndWelshAndIsAudited) {
  v1::Plan crisis = CreateCrisisPlan();
  SignOff(alex_, crisis.name(), crisis.revision());
  SignOff(okafor_, crisis.name(), crisis.revision());
  for (const std::string locale : {"en", "cy"}) {
    auto printed = Print(*alex_.client, crisis.name(), locale);
    ASSERT_TRUE(printed.ok()) << printed.status();
    EXPECT_EQ(printed->locale(), locale);
    EXPECT_EQ(printed->revision(), crisis.revision());
    EXPECT_GE(printed->page_count(), 1);
    EXPECT_LE(printed->page_count(), 2);
    EXPECT_EQ(printed->pdf().substr(0, 5), "%PDF-");
    const std::string pdf = scratch_.Write("plan-" + locale + ".pdf", printed->pdf());
    auto [code, text] = PdfText(pdf);
    ASSERT_EQ(code, 0) << text;
    for (const char* words :
         {"Walk the dog by the river", "Samaritans", "116 123", "24 hours, every day",
          "Ceri (my sister)", "Alex Morgan", "Dr Sam Okafor"}) {
      EXPECT_THAT(text, HasSubstr(words)) << locale;
    }
    if (locale == "cy") {
      EXPECT_THAT(text, HasSubstr("Cynllun argyfwng"));
      EXPECT_THAT(text, Not(HasSubstr("Warning signs")));
    } else {
      EXPECT_THAT(text, HasSubstr("Warning signs"));
    }
  }
  EXPECT_TRUE(Logged("coplan.v1.ExportService/PrintCrisisPlan", alex_));

  // A carer given the plan prints it too; they may not see the care team, so the clinician
  // is not named, and nothing they were not allowed is tried on their behalf.
  testing::Grant(alex_, jordan_, crisis.name(), v1::ACCESS_LEVEL_READ);
  auto carers = Print(*jordan_.client, crisis.name(), "en");
  ASSERT_TRUE(carers.ok()) << carers.status();
  const std::string pdf = scratch_.Write("carer.pdf", carers->pdf());
  auto [code, text] = PdfText(pdf);
  ASSERT_EQ(code, 0) << text;
  EXPECT_THAT(text, HasSubstr("a clinician in the care team"));
  EXPECT_THAT(text, Not(HasSubstr("Dr Sam Okafor")));
  EXPECT_THAT(text, Not(HasSubstr("people/")));
  v1::ListAccessEventsRequest request;
  request.set_parent(alex_.name);
  request.set_page_size(500);
  auto events = alex_.client->Call(&v1::AuditService::Stub::ListAccessEvents, request);
  ASSERT_TRUE(events.ok()) << events.status();
  for (const auto& event : events->events()) {
    EXPECT_FALSE(event.actor() == jordan_.name && event.outcome() == v1::AUDIT_OUTCOME_DENIED)
        << event.method() << " " << event.resource();
  }
}

TEST_F(ExportTest, ThePersonalDataArchiveHoldsEverythingOfThePersonAndNothingElse) {
  const v1::Plan crisis = CreateCrisisPlan();
  const v1::Plan care = CreateCarePlan();
  Edit(alex_, care.name(), care.revision(),
       {testing::SetOp("care_plan.about_me.communication", "\"Text me first\"")});
  CreateDecision(/*decided=*/true);
  testing::Grant(alex_, jordan_, crisis.name(), v1::ACCESS_LEVEL_READ);
  // Someone else's records, which must not appear.
  TestUser other = server_->CreateUser("Other Person");
  v1::CreatePlanRequest theirs;
  theirs.set_parent(other.name);
  theirs.mutable_plan()->set_title("OTHER-PERSON-PLAN");
  theirs.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("OTHER-SECRET");
  ASSERT_TRUE(other.client->Call(&v1::PlanService::Stub::CreatePlan, theirs).ok());

  Archive archive = PersonalData(*alex_.client, "people/me");
  ASSERT_TRUE(archive.status.ok()) << archive.status;
  EXPECT_EQ(archive.content_type, "application/zip");
  // Sent as it is made, in full chunks of 64 KiB but the last.
  constexpr size_t kChunk = 64 * 1024;
  EXPECT_EQ(static_cast<size_t>(archive.chunks), (archive.bytes + kChunk - 1) / kChunk);
  EXPECT_LE(archive.largest_chunk, kChunk);
  for (const char* path :
       {"README.txt", "manifest.json", "person.json", "plans/crisis/document.json",
        "plans/crisis/revisions-0001.json", "plans/crisis/crisis-plan-en.pdf",
        "plans/care/document.json", "plans/care/revisions-0001.json",
        "decisions/low-mood/document.json", "care-team.json", "grants-given.json",
        "grants-received.json", "proxies.json", "connections.json", "sessions.json",
        "collaborate-responses.json", "access-log/events-0001.json", "fhir/bundle.json",
        "fhir/access-log-0001.json"}) {
    EXPECT_TRUE(archive.files.count(path)) << path << " is missing";
  }
  // The manifest lists every other file with its checksum.
  const nlohmann::json manifest = nlohmann::json::parse(archive.files["manifest.json"]);
  EXPECT_EQ(manifest["person"], alex_.name);
  EXPECT_EQ(manifest["files"].size(), archive.files.size() - 1);
  for (const auto& file : manifest["files"]) {
    const std::string path = file["path"];
    ASSERT_TRUE(archive.files.count(path)) << path;
    EXPECT_EQ(file["sha256"], absl::BytesToHexString(Sha256(archive.files[path]))) << path;
  }
  // Every revision, in the proto3 JSON mapping.
  const nlohmann::json care_revisions =
      nlohmann::json::parse(archive.files["plans/care/revisions-0001.json"]);
  ASSERT_EQ(care_revisions.size(), 2u);
  EXPECT_EQ(care_revisions[1]["revision"], "2");
  EXPECT_THAT(archive.files["plans/care/document.json"], HasSubstr("Text me first"));
  EXPECT_THAT(archive.files["grants-given.json"], HasSubstr(jordan_.name));
  EXPECT_THAT(archive.files["grants-given.json"], Not(HasSubstr("invitationCode")));
  EXPECT_THAT(archive.files["person.json"], HasSubstr("nhsNumber"));
  // The person's own CollaboRATE answers, which nobody else sees one by one.
  EXPECT_THAT(archive.files["collaborate-responses.json"], HasSubstr(okafor_.name));
  EXPECT_THAT(archive.files["collaborate-responses.json"],
              HasSubstr("\"understandHealthIssues\": 7"));
  EXPECT_THAT(archive.files["fhir/bundle.json"],
              HasSubstr("https://coplan.app/fhir/Questionnaire/collaborate\""));
  auto clinicians = Bundle(*okafor_.client, alex_.name);
  ASSERT_TRUE(clinicians.ok()) << clinicians.status();
  EXPECT_THAT(clinicians->dump(), Not(HasSubstr("Questionnaire/collaborate\"")));
  EXPECT_THAT(archive.files["access-log/events-0001.json"], HasSubstr("PlanService/CreatePlan"));
  // Nothing of anyone else's, and no secrets.
  for (const auto& [path, contents] : archive.files) {
    EXPECT_THAT(contents, Not(HasSubstr("OTHER-SECRET"))) << path;
    EXPECT_THAT(contents, Not(HasSubstr("OTHER-PERSON-PLAN"))) << path;
    EXPECT_THAT(contents, Not(HasSubstr(TestServer::kPassword))) << path;
    EXPECT_THAT(contents, Not(HasSubstr("$argon2"))) << path;
  }
  // The FHIR parts pass both validators.
  EXPECT_EQ(
      ValidatorComplaints({scratch_.Write("bundle.json", archive.files["fhir/bundle.json"]),
                           scratch_.Write("log.json", archive.files["fhir/access-log-0001.json"])}),
      "");
  EXPECT_THAT(UnresolvedReferences(nlohmann::json::parse(archive.files["fhir/bundle.json"])),
              ::testing::IsEmpty());
  EXPECT_TRUE(Logged("coplan.v1.ExportService/ExportPersonalData", alex_));

  // A grantee's export of Alex holds only what they were given: no relationships, no log.
  Archive granted = PersonalData(*jordan_.client, alex_.name);
  ASSERT_TRUE(granted.status.ok()) << granted.status;
  EXPECT_TRUE(granted.files.count("plans/crisis/document.json"));
  for (const char* path : {"plans/care/document.json", "grants-given.json", "proxies.json",
                           "sessions.json", "access-log/events-0001.json"}) {
    EXPECT_FALSE(granted.files.count(path)) << path;
  }
}

// Each personal data export holds a worker while its reader reads: two that are not being
// read hold theirs, and a third is refused at once rather than queued behind them.
TEST_F(ExportTest, OnlyTwoPersonalDataExportsRunAtOnce) {
  // A plan that does not compress: its archive is far larger than what gRPC buffers for a
  // reader that does not read.
  v1::CreatePlanRequest create;
  create.set_parent(alex_.name);
  auto* crisis = create.mutable_plan()->mutable_crisis_plan();
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int item = 0; item < 45; ++item) {
    std::string text;
    while (text.size() < 1900) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      text.push_back(static_cast<char>('a' + state % 26));
    }
    crisis->add_warning_signs()->set_text(text);
  }
  ASSERT_TRUE(alex_.client->Call(&v1::PlanService::Stub::CreatePlan, create).ok());

  v1::ExportPersonalDataRequest request;
  request.set_parent(alex_.name);
  // Readers that take only gRPC's first 64 KiB (no window growth) and then stop.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  arguments.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 65536);
  auto slow_channel =
      grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), arguments);
  auto slow_stub = v1::ExportService::NewStub(slow_channel);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ExportChunk>>> stalled;
  for (int i = 0; i < ExportHandler::kMaxConcurrentExports; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->AddMetadata("authorization", "Bearer " + alex_.client->token());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stalled.push_back(slow_stub->ExportPersonalData(contexts.back().get(), request));
    v1::ExportChunk first;
    ASSERT_TRUE(stalled.back()->Read(&first));  // started; then nobody reads on
  }
  absl::SleepFor(absl::Seconds(1));
  Archive refused = PersonalData(*alex_.client, alex_.name);
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kResourceExhausted) << refused.status;
  for (auto& context : contexts) context->TryCancel();
  for (auto& reader : stalled) (void)reader->Finish();
  // Their workers are free again.
  absl::Status later;
  for (int attempt = 0; attempt < 50; ++attempt) {
    later = PersonalData(*alex_.client, alex_.name).status;
    if (later.code() != absl::StatusCode::kResourceExhausted) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(later.ok()) << later;
}

TEST_F(ExportTest, NhsNumbersAreCheckedAndHeldByOnePersonOnly) {
  v1::CreatePersonRequest request;
  request.mutable_person()->set_display_name("Typo");
  request.mutable_person()->set_nhs_number("943 476 5918");
  auto typo = server_->admin().Call(&v1::PeopleService::Stub::CreatePerson, request);
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(typo.status()), "person.nhs_number");

  request.mutable_person()->set_nhs_number("943 476 5919");
  auto created = server_->admin().Call(&v1::PeopleService::Stub::CreatePerson, request);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->nhs_number(), "9434765919");
  v1::GetPersonRequest get;
  get.set_name(created->name());
  EXPECT_EQ(server_->admin().Call(&v1::PeopleService::Stub::GetPerson, get)->nhs_number(),
            "9434765919");
  auto again = server_->admin().Call(&v1::PeopleService::Stub::CreatePerson, request);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  // A carer sees who the person is, not their NHS number.
  testing::Grant(alex_, jordan_, CreateCrisisPlan().name(), v1::ACCESS_LEVEL_READ);
  get.set_name(alex_.name);
  auto seen = jordan_.client->Call(&v1::PeopleService::Stub::GetPerson, get);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->nhs_number(), "");
}

TEST_F(ExportTest, AnAdministratorCorrectsANameOrNhsNumber) {
  auto update = [&](Client& client, const std::string& nhs_number,
                    std::vector<std::string> paths = {"nhs_number"}) {
    v1::UpdatePersonRequest request;
    request.mutable_person()->set_name(alex_.name);
    request.mutable_person()->set_nhs_number(nhs_number);
    request.mutable_person()->set_display_name("Alex M.");
    for (const auto& path : paths) request.mutable_update_mask()->add_paths(path);
    return client.Call(&v1::PeopleService::Stub::UpdatePerson, request);
  };
  auto current = [&] {
    v1::GetPersonRequest get;
    get.set_name(alex_.name);
    return *server_->admin().Call(&v1::PeopleService::Stub::GetPerson, get);
  };
  const std::string before = current().nhs_number();
  const std::string fresh = NextNhsNumber();
  auto changed = update(server_->admin(), fresh.substr(0, 3) + " " + fresh.substr(3));
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->nhs_number(), fresh);
  EXPECT_EQ(changed->display_name(), "Alex Morgan");  // not in the mask: unchanged
  EXPECT_NE(fresh, before);

  // Each refusal names what is wrong and changes nothing.
  auto typo = update(server_->admin(), "9434765918");
  EXPECT_EQ(FieldOf(typo.status()), "person.nhs_number");
  auto birth = update(server_->admin(), fresh, {"birth_date"});
  EXPECT_EQ(FieldOf(birth.status()), "update_mask");
  auto no_mask = update(server_->admin(), fresh, {});
  EXPECT_EQ(FieldOf(no_mask.status()), "update_mask");
  TestUser other = server_->CreateUser("Other", {.nhs_number = NextNhsNumber()});
  v1::GetPersonRequest get_other;
  get_other.set_name(other.name);
  auto taken =
      update(server_->admin(),
             server_->admin().Call(&v1::PeopleService::Stub::GetPerson, get_other)->nhs_number());
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists);
  auto by_themself = update(*alex_.client, NextNhsNumber());
  EXPECT_EQ(by_themself.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(current().nhs_number(), fresh);

  auto renamed = update(server_->admin(), "", {"display_name", "nhs_number"});
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->display_name(), "Alex M.");
  EXPECT_EQ(renamed->nhs_number(), "");  // removed
  // In Alex's own log, as the administrator's change.
  v1::ListAccessEventsRequest log;
  log.set_parent(alex_.name);
  auto events = alex_.client->Call(&v1::AuditService::Stub::ListAccessEvents, log);
  ASSERT_TRUE(events.ok()) << events.status();
  int updates = 0;
  for (const auto& event : events->events()) {
    if (event.method() == "coplan.v1.PeopleService/UpdatePerson" &&
        event.outcome() == v1::AUDIT_OUTCOME_ALLOWED) {
      ++updates;
    }
  }
  EXPECT_EQ(updates, 2);
}

// The demo's young person, on the real binary: what the README shows how to produce.
TEST_F(ExportTest, TheDemoYoungPersonsRecordsExportAndTheirCrisisPlanPrintsInEnglishAndWelsh) {
  const std::string data_dir = testing::MakeTempDir("coplan-export-demo");
  auto demo = testing::ServerProcess::Start(
      {"--demo", "--data_dir=" + data_dir, "--listen=127.0.0.1:0", "--log_level=warning"});
  ASSERT_TRUE(demo.ok()) << demo.status();
  Client alex(client::remote::RpcClientOptions{.target = (*demo)->address()});
  ASSERT_TRUE(alex.SignIn("alex", "alex-demo-password").ok());

  const std::vector<std::string> plan_words = {"When things get really hard",
                                               "Alex Morgan",
                                               "I stop replying to my friends",
                                               "Draw, or take Biscuit for a walk",
                                               "Jordan (Mum)",
                                               "07700 900123",
                                               "Samaritans",
                                               "116 123",
                                               "24 hours, every day",
                                               "Mum keeps the medicines locked away",
                                               "Going to art school"};
  struct Labels {
    std::string locale, heading, revision;
  };
  for (const Labels& labels :
       {Labels{"en", "Warning signs", "revision"}, Labels{"cy", "Arwyddion rhybudd", "diwygiad"}}) {
    const std::string& locale = labels.locale;
    auto printed = Print(alex, "people/alex/plans/crisis-plan", locale);
    ASSERT_TRUE(printed.ok()) << printed.status();
    EXPECT_GE(printed->page_count(), 1);
    EXPECT_LE(printed->page_count(), 2) << "the demo plan fits on two pages";
    const std::string pdf = scratch_.Write("demo-" + locale + ".pdf", printed->pdf());
    auto [code, text] = PdfText(pdf);
    ASSERT_EQ(code, 0) << text;
    for (const std::string& words : plan_words) EXPECT_THAT(text, HasSubstr(words)) << locale;
    EXPECT_THAT(text, HasSubstr(labels.heading)) << locale;
    EXPECT_THAT(text, HasSubstr(absl::StrCat(labels.revision, " ", printed->revision()))) << locale;
  }

  auto bundle = Bundle(alex, "people/alex", "", /*access_log=*/true);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const auto types = ResourceTypes(*bundle);
  EXPECT_EQ(types.count("Patient"), 1u);
  EXPECT_GE(types.count("CarePlan"), 2u);  // the care plan and the crisis plan
  EXPECT_GE(types.count("Consent"), 1u);   // the crisis plan shared with Jordan
  EXPECT_THAT(bundle->dump(), HasSubstr("9990000018"));
  EXPECT_THAT(bundle->dump(), HasSubstr("Jordan Morgan"));
  EXPECT_THAT(bundle->dump(), HasSubstr("Dr Sam Okafor"));
  EXPECT_THAT(UnresolvedReferences(*bundle), ::testing::IsEmpty());
  EXPECT_EQ(ValidatorComplaints({scratch_.Write("demo.json", bundle->dump(2))}), "");

  Archive archive = PersonalData(alex, "people/me");
  ASSERT_TRUE(archive.status.ok()) << archive.status;
  for (const char* path :
       {"plans/care-plan/document.json", "plans/crisis-plan/document.json",
        "plans/crisis-plan/crisis-plan-en.pdf", "decisions/low-mood/document.json",
        "grants-given.json", "care-team.json", "access-log/events-0001.json"}) {
    EXPECT_TRUE(archive.files.count(path)) << path << " is missing";
  }
  EXPECT_THAT(archive.files["grants-given.json"], HasSubstr("people/jordan"));
  EXPECT_THAT(archive.files["care-team.json"], HasSubstr("people/okafor"));
  (*demo)->Signal(SIGTERM);
  EXPECT_EQ((*demo)->Wait(absl::Seconds(30)), 0);
  std::error_code ignored;
  std::filesystem::remove_all(data_dir, ignored);
}

}  // namespace
}  // namespace coplan
