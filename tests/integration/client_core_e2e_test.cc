// The client core (client-lib, coplan::client::CoplanClient) against the real server over
// real gRPC: a crisis plan opens from the encrypted cache with the server gone, edits made
// offline reach the server exactly once across client and server restarts, a conflict is
// shown with both versions and resolved, every followed document shares one sync stream,
// a revoked share is removed from the device, and signing out wipes it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "coplan/client/coplan_client.h"
#include "google/rpc/error_details.pb.h"
#include "remote/grpc_status.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "tests/support/edit_operations.h"
#include "tests/support/process.h"
#include "tests/support/records.h"
#include "tests/support/test_cluster.h"
#include "tests/support/test_server.h"

namespace coplan {
namespace {

namespace cv1 = coplan::client::v1;
using client::ClientOptions;
using client::CoplanClient;
using testing::History;
using testing::TestServer;
using testing::TestUser;

// Waits for one callback's answer.
template <typename T>
class Answer {
 public:
  client::Callback<T> callback() {
    return [this](absl::StatusOr<T> value) {
      absl::MutexLock lock(&mutex_);
      value_ = std::move(value);
    };
  }
  absl::StatusOr<T> Get(absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mutex_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return value_.has_value(); };
    if (!mutex_.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
      return absl::DeadlineExceededError("no answer from the client core");
    }
    return *value_;
  }

 private:
  absl::Mutex mutex_;
  std::optional<absl::StatusOr<T>> value_ ABSL_GUARDED_BY(mutex_);
};

absl::Status AwaitStatus(const std::function<void(client::StatusCallback)>& call,
                         absl::Duration timeout = absl::Seconds(30)) {
  absl::Mutex mutex;
  std::optional<absl::Status> result;
  call([&](absl::Status status) {
    absl::MutexLock lock(&mutex);
    result = std::move(status);
  });
  absl::MutexLock lock(&mutex);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) { return result.has_value(); };
  if (!mutex.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
    return absl::DeadlineExceededError("no answer from the client core");
  }
  return *result;
}

// Everything a listener heard, to wait on. The listener shares what it heard, so a client
// that outlives this object (a test that ends early) never delivers into freed memory.
template <typename Event>
class Heard {
 public:
  std::function<void(const Event&)> listener() {
    return [state = state_](const Event& event) {
      absl::MutexLock lock(&state->mutex);
      state->events.push_back(event);
    };
  }
  // Waits until some event satisfies `match`; returns it.
  std::optional<Event> WaitFor(const std::function<bool(const Event&)>& match,
                               absl::Duration timeout = absl::Seconds(20)) {
    State& state = *state_;
    absl::MutexLock lock(&state.mutex);
    std::optional<Event> found;
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mutex) {
      for (const Event& event : state.events) {
        if (match(event)) {
          found = event;
          return true;
        }
      }
      return false;
    };
    state.mutex.AwaitWithTimeout(absl::Condition(&seen), timeout);
    return found;
  }
  std::vector<Event> events() {
    absl::MutexLock lock(&state_->mutex);
    return state_->events;
  }

 private:
  struct State {
    absl::Mutex mutex;
    std::vector<Event> events ABSL_GUARDED_BY(mutex);
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class ClientCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartServer();
    alex_ = server_->CreateUser("Alex", {.birth_date = testing::Date(2009, 3, 14)});
    clinician_ = server_->CreateUser("Dr Lee", {.clinician = true});
    testing::JoinCareTeam(*server_, alex_, clinician_);
    plan_ = testing::CreateCrisisPlan(alex_, 3).name();
    dir_ = testing::MakeTempDir("coplan-client-core");
    key_ = std::string(32, '\0');
    for (int i = 0; i < 32; ++i) key_[i] = static_cast<char>(i * 7 + 1);
  }

  // Starts the server (again on the same port and database after StopServer).
  void StartServer() {
    TestServer::Options options;
    if (!conninfo_.empty()) {
      options.conninfo = conninfo_;
      options.secret_file = secret_file_;
      const std::string listen = address_;
      const absl::Duration token_lifetime = token_lifetime_;
      options.configure = [listen, token_lifetime](ServerConfig& config) {
        config.listen = listen;
        if (token_lifetime != absl::ZeroDuration()) config.token_lifetime = token_lifetime;
      };
    }
    server_ = TestServer::Start(options);
    conninfo_ = server_->conninfo();
    secret_file_ = server_->secret_file();
    address_ = server_->address();
  }
  void StopServer() { server_->Stop(); }

  ClientOptions Options(const std::string& cache = "device.cache") {
    ClientOptions options;
    options.server = address_;
    options.cache_path = dir_ + "/" + cache;
    options.cache_key = key_;
    options.device_name = "Alex's phone";
    options.call_deadline = absl::Seconds(5);
    options.max_backoff = absl::Milliseconds(500);
    options.listener = client_events_.listener();
    return options;
  }

  std::unique_ptr<CoplanClient> Open(ClientOptions options) {
    auto opened = CoplanClient::Open(std::move(options));
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  std::unique_ptr<CoplanClient> SignedIn(const std::string& id, ClientOptions options) {
    auto client = Open(std::move(options));
    if (client == nullptr) return nullptr;
    Answer<cv1::SessionState> session;
    client->SignIn(id, TestServer::kPassword, session.callback());
    auto state = session.Get();
    EXPECT_TRUE(state.ok()) << state.status();
    if (!state.ok()) return nullptr;
    EXPECT_TRUE(state->signed_in());
    return client;
  }

  absl::StatusOr<cv1::CachedDocument> GetDocument(CoplanClient& client, const std::string& doc) {
    Answer<cv1::CachedDocument> answer;
    client.GetDocument(doc, answer.callback());
    return answer.Get();
  }

  absl::StatusOr<cv1::EditQueued> Edit(CoplanClient& client, const std::string& doc,
                                       std::vector<v1::EditOperation> operations) {
    cv1::EditRequest request;
    request.set_document(doc);
    for (auto& operation : operations) *request.add_operations() = std::move(operation);
    Answer<cv1::EditQueued> answer;
    client.Edit(request, answer.callback());
    return answer.Get();
  }

  // Follows `doc` and waits until the copy is live at `revision` or later.
  bool FollowLive(CoplanClient& client, const std::string& doc, Heard<cv1::DocumentEvent>& heard,
                  int64_t revision = 1) {
    client.Follow(doc, heard.listener());
    return heard
        .WaitFor([revision](const cv1::DocumentEvent& event) {
          return event.has_document() && event.document().live() &&
                 event.document().server_revision() >= revision;
        })
        .has_value();
  }

  // Whether Alex's open sessions (as the server lists them) include `session`.
  bool ListsOpenSession(const std::string& session) {
    v1::ListSessionsRequest list;
    list.set_parent("people/me");
    auto sessions = alex_.client->Call(&v1::AuthService::Stub::ListSessions, list);
    EXPECT_TRUE(sessions.ok()) << sessions.status();
    if (!sessions.ok()) return false;
    for (const auto& open : sessions->sessions()) {
      if (open.name() == session) return true;
    }
    return false;
  }

  std::unique_ptr<TestServer> server_;
  std::string conninfo_, secret_file_, address_;
  // Set before a restart: access tokens of the server that starts then last this long.
  absl::Duration token_lifetime_ = absl::ZeroDuration();
  TestUser alex_, clinician_;
  std::string plan_;
  std::string dir_, key_;
  Heard<cv1::ClientEvent> client_events_;
};

TEST_F(ClientCoreTest, ACrisisPlanOpensWithNoSignalFromTheEncryptedCacheAfterARestart) {
  auto client = SignedIn(alex_.id, Options());
  ASSERT_NE(client, nullptr);
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*client, plan_, heard));
  // A step only the device's copy holds, to look for in the file.
  ASSERT_TRUE(Edit(*client, plan_,
                   {testing::InsertOp("crisis_plan.coping_strategies",
                                      R"({"text": "text my sister Morwenna"})")})
                  .ok());
  ASSERT_TRUE(AwaitStatus([&](auto done) { client->Flush(absl::Seconds(20), done); }).ok());
  client->Close();
  client.reset();
  StopServer();

  // No signal: the server is gone. The plan opens from the device, marked not live.
  auto offline = Open(Options());
  ASSERT_NE(offline, nullptr);
  EXPECT_TRUE(offline->session().signed_in());
  auto copy = GetDocument(*offline, plan_);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_FALSE(copy->live());
  EXPECT_EQ(copy->server_revision(), 2);
  EXPECT_TRUE(copy->has_last_synced_time());
  const auto& steps = copy->document().plan().crisis_plan().coping_strategies();
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps[steps.size() - 1].text(), "text my sister Morwenna");
  offline->Close();

  // Someone who picks up the phone finds no plaintext in the app's storage.
  const std::string file = ReadFile(dir_ + "/device.cache");
  ASSERT_GT(file.size(), 4096u);
  EXPECT_EQ(file.find("SQLite format 3"), std::string::npos);
  EXPECT_EQ(file.find("Morwenna"), std::string::npos);
  EXPECT_EQ(file.find(alex_.id), std::string::npos);

  // Without the key the cache does not open: DATA_LOSS, and nothing is read.
  ClientOptions wrong = Options();
  wrong.cache_key[0] ^= 1;
  auto refused = CoplanClient::Open(wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
}

TEST_F(ClientCoreTest, EditsMadeOfflineReachTheServerExactlyOnceAcrossRestarts) {
  auto client = SignedIn(alex_.id, Options());
  ASSERT_NE(client, nullptr);
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*client, plan_, heard));
  StopServer();

  // Three edits offline: each shows at once and waits in the queue.
  for (int i = 0; i < 3; ++i) {
    auto queued = Edit(*client, plan_,
                       {testing::InsertOp("crisis_plan.coping_strategies",
                                          absl::StrCat(R"({"text": "offline step )", i, "\"}"))});
    ASSERT_TRUE(queued.ok()) << queued.status();
    EXPECT_EQ(queued->document().pending_batches(), i + 1);
    EXPECT_EQ(queued->batch().base_revision(), 1);
  }
  // A mistake offline gets the server's own answer, naming the field, and queues nothing.
  auto bad = Edit(*client, plan_, {testing::RemoveOp("crisis_plan.warning_signs[nope]")});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::HasSubstr("operations[0].remove_item.item_path"));
  Answer<cv1::PendingState> pending;
  client->GetPendingState(pending.callback());
  ASSERT_TRUE(pending.Get().ok());
  EXPECT_EQ(pending.Get()->batches_size(), 3);

  // The app is killed and started again, still offline; then the server comes back.
  client->Close();
  client.reset();
  auto reopened = Open(Options());
  ASSERT_NE(reopened, nullptr);
  auto copy = GetDocument(*reopened, plan_);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->pending_batches(), 3);
  StartServer();
  ASSERT_TRUE(AwaitStatus([&](auto done) { reopened->Flush(absl::Seconds(30), done); }).ok());

  // Each batch is in the history once, in the order made.
  const auto history = History(*clinician_.client, plan_);
  ASSERT_EQ(history.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(history[i + 1].revision(), i + 2);
    EXPECT_EQ(history[i + 1].author(), alex_.name);
  }
  v1::GetPlanRequest get;
  get.set_name(plan_);
  auto plan = clinician_.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto& steps = plan->crisis_plan().coping_strategies();
  ASSERT_GE(steps.size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(steps[steps.size() - 3 + i].text(), absl::StrCat("offline step ", i));
  }
  // And the device's copy is the server's, with nothing pending.
  auto synced = GetDocument(*reopened, plan_);
  ASSERT_TRUE(synced.ok());
  EXPECT_EQ(synced->server_revision(), 4);
  EXPECT_EQ(synced->pending_batches(), 0);
  EXPECT_EQ(synced->document().plan().crisis_plan().SerializeAsString(),
            plan->crisis_plan().SerializeAsString());
  EXPECT_EQ(
      client_events_.WaitFor([](const cv1::ClientEvent& event) { return event.has_accepted(); })
          ->accepted()
          .document(),
      plan_);
}

TEST_F(ClientCoreTest, AConflictShowsBothVersionsAndNothingIsDroppedUntilThePersonChooses) {
  auto client = SignedIn(alex_.id, Options());
  ASSERT_NE(client, nullptr);
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*client, plan_, heard));
  v1::GetPlanRequest get;
  get.set_name(plan_);
  const std::string sign_id =
      alex_.client->Call(&v1::PlanService::Stub::GetPlan, get)->crisis_plan().warning_signs(0).id();
  const std::string path = absl::StrCat("crisis_plan.warning_signs[", sign_id, "]");
  client->Close();
  client.reset();

  // Offline, Alex rewords a warning sign; meanwhile the clinician rewords the same one.
  StopServer();
  auto offline = Open(Options());
  ASSERT_NE(offline, nullptr);
  ASSERT_TRUE(Edit(*offline, plan_, {testing::UpdateOp(path, R"({"text": "not sleeping"})")}).ok());
  offline->Close();
  offline.reset();
  StartServer();
  v1::EditDocumentRequest theirs;
  theirs.set_name(plan_);
  theirs.set_base_revision(1);
  theirs.set_idempotency_key(NewRandomToken(12));
  *theirs.add_operations() = testing::UpdateOp(path, R"({"text": "awake all night"})");
  ASSERT_TRUE(clinician_.client->Call(&v1::EditingService::Stub::EditDocument, theirs).ok());

  auto online = Open(Options());
  ASSERT_NE(online, nullptr);
  auto conflict =
      client_events_.WaitFor([](const cv1::ClientEvent& event) { return event.has_conflict(); });
  ASSERT_TRUE(conflict.has_value()) << "no conflict surfaced";
  EXPECT_THAT(conflict->conflict().path(), ::testing::HasSubstr(sign_id));
  EXPECT_THAT(conflict->conflict().mine().DebugString(), ::testing::HasSubstr("not sleeping"));
  EXPECT_THAT(conflict->conflict().theirs().DebugString(), ::testing::HasSubstr("awake all night"));
  EXPECT_EQ(conflict->conflict().current_revision(), 2);
  Answer<cv1::PendingState> pending;
  online->GetPendingState(pending.callback());
  ASSERT_TRUE(pending.Get().ok());
  ASSERT_EQ(pending.Get()->conflicts_size(), 1);
  EXPECT_EQ(pending.Get()->batches(0).state(), cv1::PendingBatch::STATE_CONFLICT);

  // Alex keeps theirs... no: keeps their own words, applied on the current revision.
  cv1::Resolution resolution;
  resolution.set_batch_id(conflict->conflict().batch().id());
  resolution.set_choice(cv1::Resolution::CHOICE_KEEP_MINE);
  ASSERT_TRUE(AwaitStatus([&](auto done) { online->ResolveConflict(resolution, done); }).ok());
  ASSERT_TRUE(AwaitStatus([&](auto done) { online->Flush(absl::Seconds(30), done); }).ok());
  auto plan = clinician_.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->revision(), 3);
  EXPECT_EQ(plan->crisis_plan().warning_signs(0).text(), "not sleeping");
  EXPECT_EQ(History(*clinician_.client, plan_).size(), 3u);
}

TEST_F(ClientCoreTest, OneStreamCarriesEveryFollowedDocumentAndARevokedShareLeavesTheDevice) {
  TestUser jordan = server_->CreateUser("Jordan");
  const std::string second = testing::CreateCrisisPlan(alex_).name();
  const std::string third = testing::CreateCrisisPlan(alex_).name();
  const std::string grant = testing::Grant(alex_, jordan, plan_, v1::ACCESS_LEVEL_READ);
  testing::Grant(alex_, jordan, second, v1::ACCESS_LEVEL_READ);
  testing::Grant(alex_, jordan, third, v1::ACCESS_LEVEL_READ);
  auto carer = SignedIn(jordan.id, Options("jordan.cache"));
  ASSERT_NE(carer, nullptr);
  Heard<cv1::DocumentEvent> first_heard, second_heard, third_heard;
  ASSERT_TRUE(FollowLive(*carer, plan_, first_heard));
  ASSERT_TRUE(FollowLive(*carer, second, second_heard));
  ASSERT_TRUE(FollowLive(*carer, third, third_heard));
  Answer<int> streams;
  carer->CountOpenStreams(streams.callback());
  EXPECT_EQ(streams.Get().value_or(-1), 1);

  // Alex stops sharing the first: it leaves the carer's phone within a second.
  v1::RevokeGrantRequest revoke;
  revoke.set_name(grant);
  const absl::Time revoked_at = absl::Now();
  ASSERT_TRUE(alex_.client->Call(&v1::PeopleService::Stub::RevokeGrant, revoke).ok());
  auto ended = first_heard.WaitFor(
      [](const cv1::DocumentEvent& event) { return event.has_ended(); }, absl::Seconds(5));
  ASSERT_TRUE(ended.has_value());
  EXPECT_LT(absl::Now() - revoked_at, absl::Seconds(1));
  EXPECT_EQ(ended->ended().code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(GetDocument(*carer, plan_).status().code(), absl::StatusCode::kNotFound);

  // The others still flow live on the same stream.
  v1::EditDocumentRequest change;
  change.set_name(second);
  change.set_base_revision(1);
  change.set_idempotency_key(NewRandomToken(12));
  *change.add_operations() = testing::SetOp("title", "\"still shared\"");
  ASSERT_TRUE(alex_.client->Call(&v1::EditingService::Stub::EditDocument, change).ok());
  ASSERT_TRUE(second_heard
                  .WaitFor([](const cv1::DocumentEvent& event) {
                    return event.has_document() && event.document().server_revision() == 2;
                  })
                  .has_value());
  EXPECT_EQ(GetDocument(*carer, second)->document().plan().title(), "still shared");
  Answer<int> still;
  carer->CountOpenStreams(still.callback());
  EXPECT_EQ(still.Get().value_or(-1), 1);
  carer->Close();
  // Nothing of the revoked plan is left in the carer's cache after a restart either.
  auto reopened = Open(Options("jordan.cache"));
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(GetDocument(*reopened, plan_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(GetDocument(*reopened, third).ok());
}

TEST_F(ClientCoreTest, AnExpiredGrantStopsTheCopyBeingShownEvenOffline) {
  TestUser jordan = server_->CreateUser("Jordan");
  const absl::Time expiry = absl::Now() + absl::Seconds(6);
  testing::Grant(alex_, jordan, plan_, v1::ACCESS_LEVEL_READ, expiry);
  auto carer = SignedIn(jordan.id, Options("jordan.cache"));
  ASSERT_NE(carer, nullptr);
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*carer, plan_, heard));
  auto shown = GetDocument(*carer, plan_);
  ASSERT_TRUE(shown.ok()) << shown.status();
  ASSERT_TRUE(shown->has_shown_until());
  EXPECT_LT(absl::AbsDuration(FromTimestamp(shown->shown_until()) - expiry), absl::Seconds(1));

  // No signal before the grant runs out: the copy is still there until then...
  StopServer();
  ASSERT_LT(absl::Now(), expiry - absl::Seconds(1)) << "the test machine is too slow";
  EXPECT_TRUE(GetDocument(*carer, plan_).ok());
  // ...and not one second after, though nobody could tell the phone.
  auto ended = heard.WaitFor([](const cv1::DocumentEvent& event) { return event.has_ended(); },
                             absl::Seconds(15));
  ASSERT_TRUE(ended.has_value());
  EXPECT_GE(absl::Now(), expiry);
  EXPECT_LT(absl::Now() - expiry, absl::Seconds(1));
  EXPECT_EQ(ended->ended().code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(GetDocument(*carer, plan_).status().code(), absl::StatusCode::kNotFound);
  carer->Close();
  // Gone from the cache itself, not only hidden: a restart offline does not bring it back.
  auto reopened = Open(Options("jordan.cache"));
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(GetDocument(*reopened, plan_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientCoreTest, TheGridADecisionIsMadeFromAndTheAccessLogOpenOffline) {
  TestUser author = server_->CreateUser("Grid Author", {.clinician = true, .grid_author = true});
  const std::string version =
      testing::PublishGrid(*author.client, testing::CompleteGrid("Sleep", TodayInUk(absl::Now())));
  v1::CreateDecisionRecordRequest create;
  create.set_parent(alex_.name);
  create.mutable_decision_record()->set_option_grid_version(version);
  auto decision = alex_.client->Call(&v1::DecisionService::Stub::CreateDecisionRecord, create);
  ASSERT_TRUE(decision.ok()) << decision.status();

  auto phone = SignedIn(alex_.id, Options());
  ASSERT_NE(phone, nullptr);
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*phone, decision->name(), heard));
  Answer<cv1::CachedAccessLog> online_log;
  phone->GetAccessLog(online_log.callback());
  auto log = online_log.Get();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(log->live());
  ASSERT_GT(log->page().events_size(), 0) << "Alex's own sign-in and reads are in the log";
  // The app opens the grid the decision is made from; the device keeps it. (Following the
  // decision also fetches it in the background, but with no event to wait on, so the test
  // asks for it: under ASan the background fetch was seen still running at Close.)
  Answer<cv1::CachedGridVersion> online_grid;
  phone->GetGridVersion(version, online_grid.callback());
  ASSERT_TRUE(online_grid.Get().ok());
  phone->Close();

  StopServer();
  auto offline = Open(Options());
  ASSERT_NE(offline, nullptr);
  Answer<cv1::CachedGridVersion> grid;
  offline->GetGridVersion(version, grid.callback());
  auto kept = grid.Get();
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->version().name(), version);
  EXPECT_EQ(kept->version().grid().title(), "Sleep");
  Answer<cv1::CachedAccessLog> offline_log;
  offline->GetAccessLog(offline_log.callback());
  auto kept_log = offline_log.Get();
  ASSERT_TRUE(kept_log.ok()) << kept_log.status();
  EXPECT_FALSE(kept_log->live());
  EXPECT_EQ(kept_log->page().SerializeAsString(), log->page().SerializeAsString());
  EXPECT_EQ(kept_log->last_synced_time().seconds(), log->last_synced_time().seconds());
  auto copy = GetDocument(*offline, decision->name());
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->document().decision_record().option_grid_version(), version);
}

// Who else is looking, a change they make and their sign-off all reach the person's phone
// live, on the document's listener.
TEST_F(ClientCoreTest, PresenceChangesAndSignOffsOfOthersReachTheListenerLive) {
  Heard<cv1::DocumentEvent> heard, clinic_heard;
  auto phone = SignedIn(alex_.id, Options());
  ASSERT_NE(phone, nullptr);
  ASSERT_TRUE(FollowLive(*phone, plan_, heard));

  auto clinic = SignedIn(clinician_.id, Options("clinic.cache"));
  ASSERT_NE(clinic, nullptr);
  ASSERT_TRUE(FollowLive(*clinic, plan_, clinic_heard));
  const std::string clinician = clinician_.name;
  auto present = heard.WaitFor([&](const cv1::DocumentEvent& event) {
    if (!event.has_presence()) return false;
    for (const auto& someone : event.presence().present()) {
      if (someone.person() == clinician) return true;
    }
    return false;
  });
  ASSERT_TRUE(present.has_value()) << "Alex's phone never saw Dr Lee arrive";

  // Dr Lee changes a warning sign from their own device: Alex's copy follows.
  ASSERT_TRUE(
      Edit(*clinic, plan_,
           {testing::UpdateOp("crisis_plan.warning_signs[w1]", R"({"text": "pacing at night"})")})
          .ok());
  auto changed = heard.WaitFor([](const cv1::DocumentEvent& event) {
    return event.has_document() && event.document().server_revision() == 2;
  });
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->document().document().plan().crisis_plan().warning_signs(1).text(),
            "pacing at night");

  // Both sign off revision 2: the agreement reaches the phone.
  for (TestUser* signer : {&clinician_, &alex_}) {
    v1::SignOffDocumentRequest sign;
    sign.set_name(plan_);
    sign.set_revision(2);
    auto signed_off = signer->client->Call(&v1::EditingService::Stub::SignOffDocument, sign);
    ASSERT_TRUE(signed_off.ok()) << signed_off.status();
  }
  auto agreed = heard.WaitFor([](const cv1::DocumentEvent& event) {
    return event.has_agreement() && event.agreement().agreed_revision() == 2;
  });
  ASSERT_TRUE(agreed.has_value()) << "no agreement event for revision 2";
  EXPECT_FALSE(agreed->agreement().out_of_date());

  // Dr Lee leaves: the phone hears that too.
  clinic->Close();
  auto left = heard.WaitFor([&](const cv1::DocumentEvent& event) {
    if (!event.has_presence()) return false;
    for (const auto& someone : event.presence().present()) {
      if (someone.person() == clinician) return false;
    }
    return true;
  });
  EXPECT_TRUE(left.has_value()) << "Dr Lee still shown as present after closing";
  phone->Close();
}

// A phone stays signed in for weeks on one device session: its access tokens expire again
// and again (here every 3 s) and it renews them with the refresh token, without a
// password, without a sign-out and with its document kept live.
TEST_F(ClientCoreTest, TheDeviceRenewsItsAccessTokenAgainAndAgainAndStaysLive) {
  StopServer();
  token_lifetime_ = absl::Seconds(3);
  StartServer();
  // The restarted server's access tokens do last 3 s.
  v1::SignInRequest sign_in;
  sign_in.set_username(alex_.id);
  sign_in.set_password(TestServer::kPassword);
  auto tokens = server_->NewClient()->Call(&v1::AuthService::Stub::SignIn, sign_in);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_LE(FromTimestamp(tokens->expire_time()) - absl::Now(), absl::Seconds(3));
  auto phone = SignedIn(alex_.id, Options());
  ASSERT_NE(phone, nullptr);
  const std::string session = phone->session().session();
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*phone, plan_, heard));

  for (int round = 0; round < 3; ++round) {
    absl::SleepFor(absl::Seconds(4));  // past the token's expiry
    // A change by the clinician still arrives, and the phone's own edit is accepted.
    v1::GetPlanRequest get;
    get.set_name(plan_);
    auto current = clinician_.client->Call(&v1::PlanService::Stub::GetPlan, get);
    ASSERT_TRUE(current.ok()) << current.status();
    const int64_t revision = current->revision();
    v1::EditDocumentRequest change;
    change.set_name(plan_);
    change.set_base_revision(revision);
    change.set_idempotency_key(NewRandomToken(12));
    *change.add_operations() = testing::SetOp("title", absl::StrCat("\"round ", round, "\""));
    ASSERT_TRUE(clinician_.client->Call(&v1::EditingService::Stub::EditDocument, change).ok());
    ASSERT_TRUE(heard
                    .WaitFor([revision](const cv1::DocumentEvent& event) {
                      return event.has_document() && event.document().live() &&
                             event.document().server_revision() == revision + 1;
                    })
                    .has_value())
        << "round " << round << ": the phone did not hear revision " << revision + 1;
    ASSERT_TRUE(Edit(*phone, plan_,
                     {testing::UpdateOp("crisis_plan.warning_signs[w0]",
                                        absl::StrCat(R"({"text": "mine )", round, R"("})"))})
                    .ok());
    ASSERT_TRUE(AwaitStatus([&](auto done) { phone->Flush(absl::Seconds(20), done); }).ok())
        << "round " << round;
  }
  EXPECT_TRUE(phone->session().signed_in());
  EXPECT_EQ(phone->session().session(), session) << "the same device session throughout";
  EXPECT_TRUE(ListsOpenSession(session));
  for (const auto& event : client_events_.events()) {
    EXPECT_FALSE(event.has_signed_out()) << event.DebugString();
    EXPECT_FALSE(event.has_refused()) << event.DebugString();
  }
  phone->Close();
}

// What the server would refuse is refused on the device too, offline, with the same code
// and the same field, and nothing is queued: the person learns at once, not days later.
TEST_F(ClientCoreTest, AnEditOverTheServersLimitsIsRefusedOfflineAsTheServerWouldRefuseIt) {
  auto phone = SignedIn(alex_.id, Options());
  ASSERT_NE(phone, nullptr);
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*phone, plan_, heard));
  const std::vector<std::vector<v1::EditOperation>> refused = {
      {testing::UpdateOp("crisis_plan.warning_signs[w0]",
                         absl::StrCat(R"({"text": ")", std::string(2001, 'x'), R"("})"))},
      {testing::SetOp("title", absl::StrCat("\"", std::string(201, 't'), "\""))},
      {testing::UpdateOp("crisis_plan.warning_signs[nope]", R"({"text": "x"})")},
      std::vector<v1::EditOperation>(101, testing::SetOp("title", "\"x\"")),
  };
  // The server's answers first, while it is up.
  std::vector<absl::Status> server_says;
  for (const auto& operations : refused) {
    v1::EditDocumentRequest request;
    request.set_name(plan_);
    request.set_base_revision(1);
    request.set_idempotency_key(NewRandomToken(12));
    for (const auto& operation : operations) *request.add_operations() = operation;
    server_says.push_back(
        alex_.client->Call(&v1::EditingService::Stub::EditDocument, request).status());
  }
  StopServer();
  for (size_t i = 0; i < refused.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("case ", i));
    absl::Status device_says = Edit(*phone, plan_, refused[i]).status();
    ASSERT_FALSE(server_says[i].ok());
    if (i != 2) EXPECT_EQ(server_says[i].code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(device_says.code(), server_says[i].code()) << device_says << " / " << server_says[i];
    auto mine = client::remote::ErrorDetail<google::rpc::BadRequest>(device_says);
    auto theirs = client::remote::ErrorDetail<google::rpc::BadRequest>(server_says[i]);
    ASSERT_EQ(mine.has_value(), theirs.has_value()) << device_says << " / " << server_says[i];
    if (mine && theirs && mine->field_violations_size() > 0 &&
        theirs->field_violations_size() > 0) {
      EXPECT_EQ(mine->field_violations(0).field(), theirs->field_violations(0).field());
    }
  }
  Answer<cv1::PendingState> pending;
  phone->GetPendingState(pending.callback());
  auto state = pending.Get();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->batches_size(), 0) << "a refused edit was queued";
  EXPECT_EQ(GetDocument(*phone, plan_)->document().plan().crisis_plan().warning_signs(0).text(),
            "warning sign 0");
  phone->Close();
}

// When the person withholds a part from a carer, the carer's phone loses it at the next
// contact: from the copy shown, and from the cache (a restart offline does not bring it
// back).
TEST_F(ClientCoreTest, APartNewlyWithheldFromACarerLeavesTheirDevice) {
  TestUser jordan = server_->CreateUser("Jordan");
  testing::Grant(alex_, jordan, plan_, v1::ACCESS_LEVEL_READ);
  Heard<cv1::DocumentEvent> heard;
  auto carer = SignedIn(jordan.id, Options("jordan.cache"));
  ASSERT_NE(carer, nullptr);
  ASSERT_TRUE(FollowLive(*carer, plan_, heard));
  ASSERT_EQ(GetDocument(*carer, plan_)->document().plan().crisis_plan().warning_signs_size(), 3);

  v1::EditDocumentRequest edit;
  edit.set_name(plan_);
  edit.set_base_revision(1);
  edit.set_idempotency_key(NewRandomToken(12));
  *edit.add_operations() =
      testing::SetOp("withholdings",
                     absl::StrCat(R"([{"paths": ["crisis_plan.warning_signs"], "withheldFrom": [")",
                                  jordan.name, R"("]}])"));
  ASSERT_TRUE(alex_.client->Call(&v1::EditingService::Stub::EditDocument, edit).ok());
  auto redacted = heard.WaitFor([](const cv1::DocumentEvent& event) {
    return event.has_document() && event.document().server_revision() >= 2 &&
           event.document().document().plan().crisis_plan().warning_signs_size() == 0;
  });
  ASSERT_TRUE(redacted.has_value()) << "the carer's phone still shows the warning signs";
  EXPECT_EQ(redacted->document().document().plan().withholdings_size(), 0)
      << "a carer does not learn what is withheld from them";
  carer->Close();

  StopServer();
  auto reopened = Open(Options("jordan.cache"));
  ASSERT_NE(reopened, nullptr);
  auto copy = GetDocument(*reopened, plan_);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->document().plan().crisis_plan().warning_signs_size(), 0);
  EXPECT_GE(copy->server_revision(), 2);
  reopened->Close();
}

TEST_F(ClientCoreTest, SigningOutWipesTheDeviceAndEndsItsSessionOnTheServer) {
  auto client = SignedIn(alex_.id, Options());
  ASSERT_NE(client, nullptr);
  const std::string session = client->session().session();
  ASSERT_TRUE(ListsOpenSession(session)) << session;
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*client, plan_, heard));
  ASSERT_TRUE(AwaitStatus([&](auto done) { client->SignOut(done); }).ok());
  EXPECT_FALSE(client->session().signed_in());
  EXPECT_EQ(GetDocument(*client, plan_).status().code(), absl::StatusCode::kNotFound);
  client->Close();

  // The server no longer lists the device's session among the open ones.
  EXPECT_FALSE(ListsOpenSession(session));

  auto reopened = Open(Options());
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(reopened->session().signed_in());
  EXPECT_EQ(GetDocument(*reopened, plan_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientCoreTest, ForgettingTheDeviceDeletesTheCacheAndRefusesLaterCalls) {
  auto client = SignedIn(alex_.id, Options());
  ASSERT_NE(client, nullptr);
  Heard<cv1::DocumentEvent> heard;
  ASSERT_TRUE(FollowLive(*client, plan_, heard));
  const std::string session = client->session().session();
  ASSERT_TRUE(AwaitStatus([&](auto done) { client->ForgetDevice(done); }).ok());
  EXPECT_FALSE(std::ifstream(dir_ + "/device.cache").good()) << "the cache file is still there";
  EXPECT_FALSE(ListsOpenSession(session));
  EXPECT_EQ(GetDocument(*client, plan_).status().code(), absl::StatusCode::kCancelled);
  Answer<cv1::PendingState> pending;
  client->GetPendingState(pending.callback());
  EXPECT_EQ(pending.Get().status().code(), absl::StatusCode::kCancelled);
  client->Close();
}

// The coplan CLI is one process per command, so each command is an app start on the same
// cache: a session kept, a copy shown with the server gone, an edit queued there and sent
// by a later process once the server is back. A storage failure is never reported.
TEST_F(ClientCoreTest, TheCommandLineClientWorksOfflineAcrossProcesses) {
  const char* cli = std::getenv("COPLAN_CLI_BINARY");
  ASSERT_NE(cli, nullptr) << "COPLAN_CLI_BINARY is not set";
  {
    std::ofstream key(dir_ + "/cli.key");
    key << std::string(64, 'a');
  }
  // The directory does not exist yet: the CLI makes it, private.
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {cli, "--server=" + address_, "--cache_dir=" + dir_ + "/cli",
                                     "--cache_key_file=" + dir_ + "/cli.key", "--send_timeout=2s"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::ProcessResult result = testing::RunProgram(argv, "", absl::Seconds(60));
    EXPECT_EQ(result.output.find("storage_failed"), std::string::npos) << result.output;
    return result;
  };
  auto signed_in =
      run({"--user=" + alex_.id, std::string("--password=") + TestServer::kPassword, "sign-in"});
  ASSERT_EQ(signed_in.exit_code, 0) << signed_in.output;
  ASSERT_EQ(run({"sync"}).exit_code, 0);
  ASSERT_EQ(run({"show", plan_}).exit_code, 0);
  StopServer();
  auto offline = run({"show", plan_});
  ASSERT_EQ(offline.exit_code, 0) << offline.output;
  EXPECT_THAT(offline.output, ::testing::HasSubstr("\"server_revision\": \"1\""));
  auto queued = run({"edit", plan_,
                     R"([{"insert_item": {"list_path": "crisis_plan.coping_strategies", )"
                     R"("item": {"text": "from the command line"}}}])"});
  ASSERT_EQ(queued.exit_code, 0) << queued.output;
  EXPECT_THAT(queued.output, ::testing::HasSubstr("queued on this device"));
  StartServer();
  auto synced = run({"sync"});
  ASSERT_EQ(synced.exit_code, 0) << synced.output;
  const auto history = History(*clinician_.client, plan_);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].author(), alex_.name);
  // Without a cache (an in-memory one, closed as the process ends) an accepted edit is not
  // followed by a storage failure either.
  auto direct = testing::RunProgram(
      {cli, "--server=" + address_, "--user=" + alex_.id,
       std::string("--password=") + TestServer::kPassword, "edit", plan_,
       R"([{"set_field": {"path": "title", "value": "from a plain session"}}])"});
  ASSERT_EQ(direct.exit_code, 0) << direct.output;
  EXPECT_THAT(direct.output, ::testing::HasSubstr("accepted"));
  EXPECT_EQ(direct.output.find("storage_failed"), std::string::npos) << direct.output;
  struct stat info;
  ASSERT_EQ(::stat((dir_ + "/cli").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

// An app can be killed at any moment, also while it sends its queue: every edit queued
// offline still reaches the server exactly once. The CLI queues 40 edits, one process
// each; then sync processes are SIGKILLed after a growing time (some before they send,
// some with a batch on the wire, some while they note an answer) until one finishes.
TEST_F(ClientCoreTest, EditsQueuedOfflineArriveExactlyOnceThoughTheAppIsKilledWhileSending) {
  const char* cli = std::getenv("COPLAN_CLI_BINARY");
  ASSERT_NE(cli, nullptr) << "COPLAN_CLI_BINARY is not set";
  {
    std::ofstream key(dir_ + "/cli.key");
    key << std::string(64, 'b');
  }
  auto argv = [&](std::vector<std::string> args) {
    std::vector<std::string> all = {cli, "--server=" + address_, "--cache_dir=" + dir_ + "/cli",
                                    "--cache_key_file=" + dir_ + "/cli.key", "--send_timeout=0s"};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  };
  ASSERT_EQ(
      testing::RunProgram(argv({"--user=" + alex_.id,
                                std::string("--password=") + TestServer::kPassword, "sign-in"}))
          .exit_code,
      0);
  ASSERT_EQ(testing::RunProgram(argv({"show", plan_})).exit_code, 0);  // kept on the device
  StopServer();
  constexpr int kEdits = 40;
  for (int i = 0; i < kEdits; ++i) {
    auto queued = testing::RunProgram(
        argv({"edit", plan_,
              absl::StrCat(R"([{"insert_item": {"list_path": "crisis_plan.coping_strategies", )",
                           R"("item": {"text": "step )", i, R"("}}}])")}));
    ASSERT_EQ(queued.exit_code, 0) << queued.output;
  }
  StartServer();

  const std::string log = dir_ + "/killed-syncs.log";
  int killed = 0;
  for (int attempt = 0; attempt < 60; ++attempt) {
    auto sync = Subprocess::Start({.argv = argv({"sync"}), .stdout_file = log, .stderr_file = log});
    ASSERT_TRUE(sync.ok()) << sync.status();
    absl::SleepFor(absl::Milliseconds(25 + 5 * attempt));
    if (!(*sync)->Running()) break;  // it finished: nothing left to kill
    (*sync)->Signal(SIGKILL);
    ASSERT_TRUE((*sync)->Wait(absl::Seconds(10)).ok());
    ++killed;
  }
  EXPECT_GT(killed, 5) << "the syncs finished before they could be killed";
  std::cout << "killed " << killed << " sync processes\n";
  auto finished = testing::RunProgram(argv({"sync"}));
  ASSERT_EQ(finished.exit_code, 0) << finished.output;
  auto pending = testing::RunProgram(argv({"pending"}));
  EXPECT_EQ(pending.output.find("step "), std::string::npos) << pending.output;
  // Not one batch was refused or taken for a conflict on the way: a resend after a kill is
  // recognised by its key, not applied again (nor bounced off its own first copy).
  const std::string killed_output = ReadFile(log) + finished.output;
  EXPECT_EQ(killed_output.find("\"refused\""), std::string::npos) << killed_output;
  EXPECT_EQ(killed_output.find("\"conflict\""), std::string::npos) << killed_output;

  // Each step is in the history exactly once, and the plan has each once.
  const auto history = History(*clinician_.client, plan_);
  std::map<std::string, int> inserted;
  for (const auto& revision : history) {
    for (const auto& operation : revision.operations()) {
      if (!operation.has_insert_item()) continue;
      ++inserted[operation.insert_item().item().struct_value().fields().at("text").string_value()];
    }
  }
  for (int i = 0; i < kEdits; ++i) {
    EXPECT_EQ(inserted[absl::StrCat("step ", i)], 1) << "step " << i;
  }
  EXPECT_EQ(history.size(), static_cast<size_t>(1 + kEdits));
  v1::GetPlanRequest get;
  get.set_name(plan_);
  auto plan = clinician_.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->crisis_plan().coping_strategies_size(), kEdits);
}

}  // namespace
}  // namespace coplan
