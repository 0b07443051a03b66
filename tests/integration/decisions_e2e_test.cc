// Shared decisions end to end: authoring and publishing option grids (and every publish
// refusal), immutable versions, translations and review dates, decision records with
// SURE scoring, CollaboRATE below and above the reporting threshold, and the caseload.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/proto_time.h"
#include "tests/support/edit_operations.h"
#include "tests/support/records.h"
#include "tests/support/test_server.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using client::remote::ErrorDetail;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::TestServer;
using testing::TestUser;
using ::testing::UnorderedElementsAre;

google::type::Date InDays(int days) { return ToDate(TodayInUk(absl::Now()) + days); }

// A grid that meets every publishing criterion, in plain words.
v1::OptionGrid CompleteGrid(const std::string& title = "Sleep problems") {
  return testing::CompleteGrid(title, TodayInUk(absl::Now()));
}

class DecisionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = TestServer::Start().release(); }
  static void TearDownTestSuite() { delete server_; }

  void SetUp() override {
    author_ = server_->CreateUser("Grid author",
                                  {.clinician = true, .grid_author = true, .team = "teams/north"});
    reader_ = server_->CreateUser("Reader");
  }

  absl::StatusOr<v1::OptionGrid> CreateGrid(const v1::OptionGrid& grid,
                                            const std::string& id = "") {
    v1::CreateOptionGridRequest request;
    *request.mutable_option_grid() = grid;
    request.set_option_grid_id(id);
    return author_.client->Call(&v1::OptionGridService::Stub::CreateOptionGrid, request);
  }

  absl::StatusOr<v1::OptionGridVersion> Publish(const std::string& name) {
    v1::PublishOptionGridRequest request;
    request.set_name(name);
    return author_.client->Call(&v1::OptionGridService::Stub::PublishOptionGrid, request);
  }

  // Publishing a draft that breaks one rule reports exactly that problem.
  void ExpectRefusal(const v1::OptionGrid& grid, const std::string& type,
                     const std::string& subject) {
    auto created = CreateGrid(grid);
    ASSERT_TRUE(created.ok()) << created.status();
    auto published = Publish(created->name());
    ASSERT_EQ(published.status().code(), absl::StatusCode::kFailedPrecondition) << type;
    auto failure = ErrorDetail<google::rpc::PreconditionFailure>(published.status());
    ASSERT_TRUE(failure.has_value()) << type;
    bool found = false;
    for (const auto& violation : failure->violations()) {
      if (violation.type() == type && violation.subject() == subject) found = true;
    }
    EXPECT_TRUE(found) << "no " << type << " on " << subject << " in " << failure->DebugString();
    EXPECT_EQ(ErrorDetail<google::rpc::ErrorInfo>(published.status())->reason(), "PUBLISH_REFUSED");
    v1::GetOptionGridRequest get;
    get.set_name(created->name());
    get.set_view(v1::OPTION_GRID_VIEW_DRAFT);
    EXPECT_EQ(
        author_.client->Call(&v1::OptionGridService::Stub::GetOptionGrid, get)->latest_version(),
        0);
  }

  absl::StatusOr<v1::DecisionRecord> CreateDecision(TestUser& person, const std::string& version,
                                                    v1::DecisionRecord record = {}) {
    v1::CreateDecisionRecordRequest request;
    request.set_parent(person.name);
    record.set_option_grid_version(version);
    *request.mutable_decision_record() = record;
    return person.client->Call(&v1::DecisionService::Stub::CreateDecisionRecord, request);
  }

  std::string PublishedVersion() {
    auto created = CreateGrid(CompleteGrid());
    EXPECT_TRUE(created.ok()) << created.status();
    auto published = Publish(created->name());
    EXPECT_TRUE(published.ok()) << published.status();
    return published.ok() ? published->name() : "";
  }

  void JoinCareTeam(const TestUser& person, const TestUser& clinician) {
    v1::CreateCareTeamMemberRequest member;
    member.set_parent(person.name);
    member.mutable_care_team_member()->set_clinician(clinician.name);
    ASSERT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::CreateCareTeamMember, member).ok());
  }

  static TestServer* server_;
  TestUser author_;
  TestUser reader_;
};

TestServer* DecisionsTest::server_ = nullptr;

TEST_F(DecisionsTest, AuthorsDraftAndPublishVersionsThatNeverChange) {
  v1::CreateOptionGridRequest by_reader;
  *by_reader.mutable_option_grid() = CompleteGrid();
  EXPECT_EQ(reader_.client->Call(&v1::OptionGridService::Stub::CreateOptionGrid, by_reader)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);

  auto draft = CreateGrid(CompleteGrid(), "sleep-grid");
  ASSERT_TRUE(draft.ok()) << draft.status();
  EXPECT_EQ(draft->name(), "optionGrids/sleep-grid");
  EXPECT_EQ(draft->latest_version(), 0);
  EXPECT_FALSE(draft->etag().empty());
  v1::GetOptionGridRequest get;
  get.set_name(draft->name());
  EXPECT_EQ(reader_.client->Call(&v1::OptionGridService::Stub::GetOptionGrid, get).status().code(),
            absl::StatusCode::kNotFound);  // nothing published yet

  auto v1 = Publish(draft->name());
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->name(), "optionGrids/sleep-grid/versions/1");
  EXPECT_EQ(v1->publisher(), author_.name);
  EXPECT_GT(v1->reading_age().words(), 10);
  EXPECT_GE(v1->reading_age().reading_age_years(), 5);
  EXPECT_LE(v1->reading_age().reading_age_years(), 12);
  EXPECT_TRUE(v1->publish_warnings().empty());
  EXPECT_EQ(ToIsoDate(v1->grid().publication_date()), ToIsoDate(InDays(0)));

  auto read = reader_.client->Call(&v1::OptionGridService::Stub::GetOptionGrid, get);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->latest_version(), 1);
  EXPECT_EQ(read->decision_question(), "What could help me sleep better?");
  EXPECT_FALSE(read->review_overdue());

  // The draft moves on; version 1 does not.
  v1::UpdateOptionGridRequest update;
  update.mutable_option_grid()->set_name(draft->name());
  update.mutable_option_grid()->set_decision_question("What might help me sleep?");
  update.mutable_update_mask()->add_paths("decision_question");
  auto edited = author_.client->Call(&v1::OptionGridService::Stub::UpdateOptionGrid, update);
  ASSERT_TRUE(edited.ok()) << edited.status();
  EXPECT_TRUE(edited->has_unpublished_changes());
  v1::GetOptionGridVersionRequest version;
  version.set_name("optionGrids/sleep-grid/versions/1");
  EXPECT_EQ(reader_.client->Call(&v1::OptionGridService::Stub::GetOptionGridVersion, version)
                ->grid()
                .decision_question(),
            "What could help me sleep better?");
  EXPECT_EQ(
      reader_.client->Call(&v1::OptionGridService::Stub::GetOptionGrid, get)->decision_question(),
      "What could help me sleep better?");

  // A published version cannot be edited or published.
  update.mutable_option_grid()->set_name("optionGrids/sleep-grid/versions/1");
  EXPECT_EQ(
      author_.client->Call(&v1::OptionGridService::Stub::UpdateOptionGrid, update).status().code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Publish("optionGrids/sleep-grid/versions/1").status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A stale etag is refused.
  update.mutable_option_grid()->set_name(draft->name());
  update.mutable_option_grid()->set_etag(draft->etag());
  EXPECT_EQ(
      author_.client->Call(&v1::OptionGridService::Stub::UpdateOptionGrid, update).status().code(),
      absl::StatusCode::kFailedPrecondition);

  auto v2 = Publish(draft->name());
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version(), 2);
  version.set_name("optionGrids/sleep-grid/versions/latest");
  EXPECT_EQ(
      reader_.client->Call(&v1::OptionGridService::Stub::GetOptionGridVersion, version)->version(),
      2);
  auto listed = reader_.client->Call(&v1::OptionGridService::Stub::GetOptionGrid, get);
  EXPECT_EQ(listed->versions_size(), 2);
}

TEST_F(DecisionsTest, EachPublishingCriterionIsEnforced) {
  v1::OptionGrid missing_answer = CompleteGrid();
  missing_answer.mutable_questions(1)->mutable_answers()->RemoveLast();
  ExpectRefusal(missing_answer, "MISSING_ANSWER", "questions[soon].answers[option=wait]");

  v1::OptionGrid dangling = CompleteGrid();
  dangling.mutable_questions(0)->mutable_answers(1)->add_source_ids("nowhere");
  {
    auto created = CreateGrid(dangling);
    ASSERT_TRUE(created.ok());
    auto refused = Publish(created->name());
    ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    auto failure = ErrorDetail<google::rpc::PreconditionFailure>(refused.status());
    ASSERT_TRUE(failure.has_value());
    EXPECT_EQ(failure->violations(0).type(), "UNKNOWN_SOURCE");
    EXPECT_THAT(failure->violations(0).description(), HasSubstr("nowhere"));
  }

  struct Case {
    std::function<void(v1::OptionGrid&)> breaks;
    std::string type;
    std::string subject;
  };
  std::vector<Case> cases = {
      {[](v1::OptionGrid& g) { g.clear_decision_question(); }, "MISSING_DECISION_QUESTION",
       "decision_question"},
      {[](v1::OptionGrid& g) {
         g.mutable_options()->DeleteSubrange(1, 2);
         for (auto& q : *g.mutable_questions()) q.mutable_answers()->DeleteSubrange(1, 2);
       },
       "TOO_FEW_OPTIONS", "options"},
      {[](v1::OptionGrid& g) { g.clear_questions(); }, "NO_QUESTIONS", "questions"},
      {[](v1::OptionGrid& g) {
         g.clear_sources();
         for (auto& q : *g.mutable_questions())
           for (auto& a : *q.mutable_answers()) a.clear_source_ids();
       },
       "NO_SOURCES", "sources"},
      {[](v1::OptionGrid& g) { g.clear_authors(); }, "NO_AUTHORS", "authors"},
      {[](v1::OptionGrid& g) { g.clear_funding(); }, "MISSING_FUNDING", "funding"},
      {[](v1::OptionGrid& g) { g.clear_conflict_of_interest(); }, "MISSING_CONFLICT_OF_INTEREST",
       "conflict_of_interest"},
      {[](v1::OptionGrid& g) { g.clear_last_review_date(); }, "MISSING_LAST_REVIEW_DATE",
       "last_review_date"},
      {[](v1::OptionGrid& g) { g.clear_next_review_date(); }, "MISSING_NEXT_REVIEW_DATE",
       "next_review_date"},
      {[](v1::OptionGrid& g) { *g.mutable_next_review_date() = InDays(-3); }, "NEXT_REVIEW_PASSED",
       "next_review_date"},
  };
  for (const auto& c : cases) {
    v1::OptionGrid grid = CompleteGrid();
    c.breaks(grid);
    ExpectRefusal(grid, c.type, c.subject);
  }
}

TEST_F(DecisionsTest, AReadingAgeAboveTheTargetWarnsAndCanBeMadeToFail) {
  v1::OptionGrid hard = CompleteGrid("Complicated");
  hard.set_decision_question(
      "Considering the comparative effectiveness, tolerability and acceptability of "
      "pharmacological "
      "and psychological interventions, which therapeutic modality would you preferentially "
      "select?");
  for (auto& question : *hard.mutable_questions()) {
    for (auto& answer : *question.mutable_answers()) {
      answer.set_text(
          "Randomised controlled investigations demonstrate heterogeneous effectiveness "
          "notwithstanding considerable methodological limitations.");
    }
  }
  auto created = CreateGrid(hard);
  ASSERT_TRUE(created.ok());
  auto published = Publish(created->name());
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_GT(published->reading_age().reading_age_years(), 12);
  ASSERT_EQ(published->publish_warnings_size(), 1);
  EXPECT_THAT(published->publish_warnings(0), HasSubstr("reading age"));

  auto strict = TestServer::Start(
      {.configure = [](ServerConfig& config) { config.grid_reading_age_enforced = true; }});
  TestUser author = strict->CreateUser("Strict author", {.grid_author = true});
  v1::CreateOptionGridRequest request;
  *request.mutable_option_grid() = hard;
  auto draft = author.client->Call(&v1::OptionGridService::Stub::CreateOptionGrid, request);
  ASSERT_TRUE(draft.ok());
  v1::PublishOptionGridRequest publish;
  publish.set_name(draft->name());
  auto refused = author.client->Call(&v1::OptionGridService::Stub::PublishOptionGrid, publish);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorDetail<google::rpc::PreconditionFailure>(refused.status())->violations(0).type(),
            "READING_AGE_ABOVE_TARGET");
  strict->Stop();
}

TEST_F(DecisionsTest, TranslationsAreLinkedAndOverdueReviewsAreFlagged) {
  auto original = CreateGrid(CompleteGrid("Cysgu"), "sleep-en");
  ASSERT_TRUE(original.ok());
  v1::OptionGrid welsh = CompleteGrid("Cysgu'n well");
  welsh.set_locale("cy-GB");
  welsh.set_translation_of(original->name());
  auto translated = CreateGrid(welsh, "sleep-cy");
  ASSERT_TRUE(translated.ok()) << translated.status();
  EXPECT_EQ(translated->translation_of(), "optionGrids/sleep-en");
  v1::GetOptionGridRequest get;
  get.set_name(original->name());
  get.set_view(v1::OPTION_GRID_VIEW_DRAFT);
  EXPECT_THAT(
      author_.client->Call(&v1::OptionGridService::Stub::GetOptionGrid, get)->translations(),
      Contains("optionGrids/sleep-cy"));
  welsh.set_translation_of("optionGrids/no-such-grid");
  EXPECT_EQ(CreateGrid(welsh).status().code(), absl::StatusCode::kInvalidArgument);
  welsh.set_translation_of("");
  welsh.set_locale("not a locale");
  EXPECT_EQ(CreateGrid(welsh).status().code(), absl::StatusCode::kInvalidArgument);

  // A version published long ago whose review date has passed (made directly: the
  // server never publishes one with a past review date).
  {
    pqxx::connection conn(server_->conninfo());
    pqxx::work tx(conn);
    v1::OptionGrid old = CompleteGrid("Old grid");
    *old.mutable_next_review_date() = InDays(-5);
    v1::OptionGridVersion version;
    *version.mutable_grid() = old;
    version.set_version(1);
    tx.exec_params(
        "INSERT INTO option_grids (id, title, locale, draft, latest_version,"
        " published_draft_revision, created_by) VALUES ('old-grid', 'Old grid', 'en-GB', $1, 1, 1, "
        "$2)",
        pqxx::binarystring(old.SerializeAsString()), author_.id);
    tx.exec_params(
        "INSERT INTO option_grid_versions (grid_id, version, content, publish_time,"
        " publisher_id, next_review_date) VALUES ('old-grid', 1, $1, now(), $2, $3::date)",
        pqxx::binarystring(version.SerializeAsString()), author_.id, ToIsoDate(InDays(-5)));
    tx.commit();
  }
  get.set_name("optionGrids/old-grid");
  get.set_view(v1::OPTION_GRID_VIEW_PUBLISHED);
  auto old = reader_.client->Call(&v1::OptionGridService::Stub::GetOptionGrid, get);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->review_overdue());
  v1::ListOptionGridsRequest due;
  due.set_review_overdue_only(true);
  due.set_view(v1::OPTION_GRID_VIEW_DRAFT);
  auto listed = author_.client->Call(&v1::OptionGridService::Stub::ListOptionGrids, due);
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> names;
  for (const auto& grid : listed->option_grids()) names.push_back(grid.name());
  EXPECT_THAT(names, UnorderedElementsAre("optionGrids/old-grid"));
  EXPECT_EQ(
      reader_.client->Call(&v1::OptionGridService::Stub::ListOptionGrids, due).status().code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(DecisionsTest, DecisionRecordsScoreSureAndOnlyAcceptOptionsOfTheirGridVersion) {
  const std::string version = PublishedVersion();
  TestUser person = server_->CreateUser("Sam");
  JoinCareTeam(person, author_);
  v1::DecisionRecord record;
  record.set_stage(v1::DECISION_STAGE_CONSIDERING);
  auto* importance = record.add_importances();
  importance->set_question_id("soon");
  importance->set_importance(5);
  record.set_leaning_option_id("app");
  auto* sure = record.mutable_sure();
  sure->set_sure_of_best_choice(v1::SURE_ANSWER_YES);
  sure->set_understands_benefits_and_risks(v1::SURE_ANSWER_YES);
  sure->set_clear_about_what_matters(v1::SURE_ANSWER_YES);
  sure->set_enough_support(v1::SURE_ANSWER_NO);
  auto created = CreateDecision(person, version.substr(0, version.rfind('/')) + "/latest", record);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->option_grid_version(), version);  // "latest" pinned
  EXPECT_EQ(created->title(), "What could help me sleep better?");
  EXPECT_EQ(created->status(), v1::DECISION_STATUS_IN_PROGRESS);
  EXPECT_TRUE(created->sure().complete());
  EXPECT_EQ(created->sure().score(), 3);
  EXPECT_TRUE(created->sure().decisional_conflict());

  // The clinician co-edits it like a plan.
  auto edit = author_.client->Call(&v1::EditingService::Stub::EditDocument, [&] {
    v1::EditDocumentRequest request;
    request.set_name(created->name());
    request.set_base_revision(1);
    request.set_idempotency_key("decision-edit-1");
    *request.add_operations() = testing::SetOp("sure.enough_support", "\"SURE_ANSWER_YES\"");
    return request;
  }());
  ASSERT_TRUE(edit.ok()) << edit.status();
  EXPECT_EQ(edit->document().decision_record().sure().score(), 4);
  EXPECT_FALSE(edit->document().decision_record().sure().decisional_conflict());

  // Bad input.
  auto update = [&](std::function<void(v1::DecisionRecord&)> change, const std::string& path) {
    v1::UpdateDecisionRecordRequest request;
    request.mutable_decision_record()->set_name(created->name());
    change(*request.mutable_decision_record());
    request.mutable_update_mask()->add_paths(path);
    return person.client->Call(&v1::DecisionService::Stub::UpdateDecisionRecord, request);
  };
  EXPECT_EQ(update([](auto& r) { r.mutable_outcome()->set_option_id("surgery"); }, "outcome")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      update([](auto& r) { r.set_leaning_option_id("nope"); }, "leaning_option_id").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      update([](auto& r) { r.mutable_sure()->set_enough_support(static_cast<v1::SureAnswer>(7)); },
             "sure")
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(update(
                [](auto& r) {
                  r.add_importances()->set_question_id("how");
                  r.mutable_importances(0)->set_importance(6);
                },
                "importances")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      update([](auto& r) { r.set_status(v1::DECISION_STATUS_DECIDED); }, "status").status().code(),
      absl::StatusCode::kInvalidArgument);  // decided without the option chosen
  EXPECT_EQ(update([](auto& r) { r.set_option_grid_version("optionGrids/x/versions/1"); },
                   "option_grid_version")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateDecision(person, "optionGrids/no-grid/versions/1").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto decided = update(
      [](auto& r) {
        r.mutable_outcome()->set_option_id("habits");
        *r.mutable_outcome()->mutable_decided_on() = InDays(0);
      },
      "outcome");
  ASSERT_TRUE(decided.ok()) << decided.status();
  EXPECT_EQ(decided->outcome().option_id(), "habits");
}

TEST_F(DecisionsTest, CollaborateIsReportedOnlyInAggregateFromTwentyFiveResponses) {
  const std::string version = PublishedVersion();
  TestUser other_clinician = server_->CreateUser("Other clinician", {.clinician = true});
  auto respond = [&](TestUser& person, const std::string& decision, int a, int b, int c,
                     const std::string& clinician) {
    v1::CreateCollaborateResponseRequest request;
    request.set_parent(decision);
    auto* response = request.mutable_collaborate_response();
    response->set_clinician(clinician);
    response->set_understand_health_issues(a);
    response->set_listen_to_what_matters(b);
    response->set_include_what_matters(c);
    return person.client->Call(&v1::DecisionService::Stub::CreateCollaborateResponse, request);
  };
  auto summary = [&](client::remote::RpcClient& client, const std::string& subject) {
    v1::GetCollaborateSummaryRequest request;
    request.set_subject(subject);
    return client.Call(&v1::DecisionService::Stub::GetCollaborateSummary, request);
  };
  v1::DecisionRecord decided;
  decided.set_status(v1::DECISION_STATUS_DECIDED);
  decided.mutable_outcome()->set_option_id("wait");
  *decided.mutable_outcome()->mutable_decided_on() = InDays(0);

  // Refusals first.
  TestUser first = server_->CreateUser("Person 0");
  JoinCareTeam(first, author_);
  auto open = CreateDecision(first, version);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(respond(first, open->name(), 9, 9, 9, author_.name).status().code(),
            absl::StatusCode::kFailedPrecondition);  // not decided yet
  auto done = CreateDecision(first, version, decided);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(respond(first, done->name(), 10, 9, 9, author_.name).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(respond(first, done->name(), 9, 9, 9, other_clinician.name).status().code(),
            absl::StatusCode::kInvalidArgument);  // not in the care team
  EXPECT_EQ(author_.client
                ->Call(&v1::DecisionService::Stub::CreateCollaborateResponse,
                       [&] {
                         v1::CreateCollaborateResponseRequest request;
                         request.set_parent(done->name());
                         request.mutable_collaborate_response()->set_clinician(author_.name);
                         return request;
                       }())
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);  // clinicians never answer for the person

  // 24 responses: not reportable. 10 of them all-9s.
  ASSERT_TRUE(respond(first, done->name(), 9, 9, 9, author_.name).ok());
  EXPECT_EQ(respond(first, done->name(), 9, 9, 9, author_.name).status().code(),
            absl::StatusCode::kAlreadyExists);
  for (int i = 1; i < 24; ++i) {
    TestUser person = server_->CreateUser(absl::StrCat("Person ", i));
    JoinCareTeam(person, author_);
    auto decision = CreateDecision(person, version, decided);
    ASSERT_TRUE(decision.ok()) << decision.status();
    const bool top = i < 10;
    ASSERT_TRUE(respond(person, decision->name(), top ? 9 : 7, 9, 9, author_.name).ok());
  }
  auto below = summary(*author_.client, author_.name);
  ASSERT_TRUE(below.ok()) << below.status();
  EXPECT_EQ(below->response_count(), 20);  // in bands of 5
  EXPECT_FALSE(below->reportable());
  EXPECT_EQ(below->top_score_percent(), 0);

  TestUser last = server_->CreateUser("Person 24");
  JoinCareTeam(last, author_);
  auto decision = CreateDecision(last, version, decided);
  ASSERT_TRUE(decision.ok());
  ASSERT_TRUE(respond(last, decision->name(), 9, 9, 9, author_.name).ok());
  auto above = summary(*author_.client, author_.name);
  ASSERT_TRUE(above.ok());
  EXPECT_EQ(above->response_count(), 25);
  EXPECT_TRUE(above->reportable());
  EXPECT_DOUBLE_EQ(above->top_score_percent(), 40);  // 11 of 25 = 44%, to the nearest 10
  auto team = summary(*author_.client, "teams/north");
  ASSERT_TRUE(team.ok()) << team.status();
  EXPECT_EQ(team->response_count(), 25);

  // Differencing: one more answer (a top score) changes nothing a clinician can compare,
  // so the summaries before and after it do not tell what that person answered.
  TestUser one_more = server_->CreateUser("Person 25");
  JoinCareTeam(one_more, author_);
  auto another = CreateDecision(one_more, version, decided);
  ASSERT_TRUE(another.ok());
  ASSERT_TRUE(respond(one_more, another->name(), 9, 9, 9, author_.name).ok());
  auto after = summary(*author_.client, author_.name);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->response_count(), above->response_count());
  EXPECT_EQ(after->top_score_percent(), above->top_score_percent());

  // Another clinician cannot see this clinician's results; a person cannot either.
  EXPECT_EQ(summary(*other_clinician.client, author_.name).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(summary(*last.client, author_.name).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(DecisionsTest, TheCaseloadFiltersByDecisionalConflictAndOverdueFollowUp) {
  const std::string version = PublishedVersion();
  TestUser clinician = server_->CreateUser("Caseload clinician", {.clinician = true});
  auto make = [&](const std::string& name, bool conflict, int follow_up_days) {
    TestUser person = server_->CreateUser(name);
    JoinCareTeam(person, clinician);
    v1::DecisionRecord record;
    auto* sure = record.mutable_sure();
    const v1::SureAnswer last = conflict ? v1::SURE_ANSWER_NO : v1::SURE_ANSWER_YES;
    sure->set_sure_of_best_choice(v1::SURE_ANSWER_YES);
    sure->set_understands_benefits_and_risks(v1::SURE_ANSWER_YES);
    sure->set_clear_about_what_matters(v1::SURE_ANSWER_YES);
    sure->set_enough_support(last);
    *record.mutable_follow_up_date() = InDays(follow_up_days);
    auto created = CreateDecision(person, version, record);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->name() : "";
  };
  const std::string conflicted = make("Conflicted", true, 10);
  const std::string overdue = make("Overdue", false, -3);
  const std::string both = make("Both", true, -1);
  const std::string fine = make("Fine", false, 10);
  // Someone outside the caseload.
  TestUser stranger = server_->CreateUser("Not in caseload");
  ASSERT_TRUE(CreateDecision(stranger, version).ok());

  auto list = [&](bool conflict_only, bool overdue_only) {
    v1::ListCaseloadDecisionsRequest request;
    request.set_decisional_conflict_only(conflict_only);
    request.set_follow_up_overdue_only(overdue_only);
    auto response =
        clinician.client->Call(&v1::DecisionService::Stub::ListCaseloadDecisions, request);
    EXPECT_TRUE(response.ok()) << response.status();
    std::vector<std::string> names;
    if (response.ok()) {
      for (const auto& entry : response->decisions()) names.push_back(entry.decision());
    }
    return names;
  };
  EXPECT_THAT(list(false, false), UnorderedElementsAre(conflicted, overdue, both, fine));
  EXPECT_THAT(list(true, false), UnorderedElementsAre(conflicted, both));
  EXPECT_THAT(list(false, true), UnorderedElementsAre(overdue, both));
  EXPECT_THAT(list(true, true), UnorderedElementsAre(both));
  EXPECT_EQ(reader_.client
                ->Call(&v1::DecisionService::Stub::ListCaseloadDecisions,
                       v1::ListCaseloadDecisionsRequest())
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace coplan
