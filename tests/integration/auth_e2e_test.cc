// Authentication: built-in accounts (sign-in, lockout, sign-out effective on every
// instance, forged and expired server tokens, changing one's password, administrators
// disabling an account and unlinking an identity) and OpenID Connect tokens from an external
// provider (RS256 and ES256 accepted; every malformed, expired, premature, mis-issued,
// mis-addressed, unsigned, wrongly signed or tampered token refused with a clear message).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/auth/jwt.h"
#include "server/auth/server_keys.h"
#include "server/auth/token_keys.h"
#include "server/common/crypto.h"
#include "tests/support/jwt_signer.h"
#include "tests/support/process.h"
#include "tests/support/records.h"
#include "tests/support/test_cluster.h"
#include "tests/support/test_server.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using ::testing::HasSubstr;
using testing::TestIdentityProvider;
using testing::TestServer;
using testing::TestUser;

constexpr char kAudience[] = "coplan-test";

absl::Status WhoAmI(client::remote::RpcClient& client) {
  v1::GetPersonRequest request;
  request.set_name("people/me");
  return client.Call(&v1::PeopleService::Stub::GetPerson, request).status();
}

absl::Status WithToken(const TestServer& server, const std::string& authorization_value) {
  auto client = server.NewClient();
  auto context = client->NewContext(absl::Seconds(10));
  if (!authorization_value.empty()) context->AddMetadata("authorization", authorization_value);
  v1::GetPersonRequest request;
  request.set_name("people/me");
  v1::Person person;
  return client::remote::FromGrpcStatus(
      client->stub<v1::PeopleService::Stub>().GetPerson(context.get(), request, &person));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class BuiltInAccountsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = TestServer::Start().release(); }
  static void TearDownTestSuite() { delete server_; }
  static TestServer* server_;
};

TestServer* BuiltInAccountsTest::server_ = nullptr;

TEST_F(BuiltInAccountsTest, WrongCredentialsDoNotSayWhichPartWasWrong) {
  TestUser user = server_->CreateUser("Robin");
  auto client = server_->NewClient();
  absl::Status wrong_password = client->SignIn(user.id, "not-the-password");
  absl::Status unknown_user = client->SignIn("nobody-here", "not-the-password");
  EXPECT_EQ(wrong_password.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown_user.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong_password.message(), unknown_user.message());
  EXPECT_EQ(client->SignIn("", "x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(client->SignIn(user.id, TestServer::kPassword).ok());
  // Usernames are case-insensitive.
  EXPECT_TRUE(
      server_->NewClient()->SignIn(absl::AsciiStrToUpper(user.id), TestServer::kPassword).ok());
}

// A paused account answers exactly as an unknown one, so a lock tells nobody that the
// username exists.
TEST_F(BuiltInAccountsTest, RepeatedFailuresPauseSignInWithTheAnswerOfAnUnknownAccount) {
  TestUser user = server_->CreateUser("Locked");
  auto client = server_->NewClient();
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(client->SignIn(user.id, "wrong-password-123").ok());
  absl::Status locked = client->SignIn(user.id, TestServer::kPassword);
  absl::Status unknown = client->SignIn("nobody-at-all", TestServer::kPassword);
  EXPECT_EQ(locked.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(locked.code(), unknown.code());
  EXPECT_EQ(locked.message(), unknown.message());
  // Tokens already issued keep working.
  EXPECT_TRUE(WhoAmI(*user.client).ok());
}

// The lockout policy comes from flags; failures decay, so one wrong attempt after a pause
// has run out does not pause the account again (it did: the count never went down, and
// one guess per pause kept the person out for good); pausing again takes as many
// failures as the first time, and lasts twice as long.
TEST(SignInLockoutTest, FailuresDecayAndRepeatedPausesGrow) {
  auto server = TestServer::Start({.configure = [](ServerConfig& config) {
    config.sign_in_max_failures = 3;
    config.sign_in_lock_duration = absl::Seconds(2);
  }});
  TestUser user = server->CreateUser("Jo");
  auto client = server->NewClient();
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(client->SignIn(user.id, "wrong-password-123").ok());
  ASSERT_FALSE(client->SignIn(user.id, TestServer::kPassword).ok()) << "paused";
  absl::SleepFor(absl::Milliseconds(2300));
  ASSERT_FALSE(client->SignIn(user.id, "wrong-password-123").ok());
  EXPECT_TRUE(client->SignIn(user.id, TestServer::kPassword).ok())
      << "one wrong attempt after the pause must not pause the account again";

  // Two pauses in a row, with no success between: the second lasts 4 s, not 2.
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(client->SignIn(user.id, "wrong-password-123").ok());
  absl::SleepFor(absl::Milliseconds(2300));
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(client->SignIn(user.id, "wrong-password-123").ok());
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_FALSE(client->SignIn(user.id, TestServer::kPassword).ok()) << "the second pause is longer";
  absl::SleepFor(absl::Milliseconds(2000));
  EXPECT_TRUE(client->SignIn(user.id, TestServer::kPassword).ok());
}

TEST_F(BuiltInAccountsTest, SigningOutEndsTheTokenOnEveryInstance) {
  TestUser user = server_->CreateUser("Sam");
  auto second =
      TestServer::Start({.conninfo = server_->conninfo(), .secret_file = server_->secret_file()});
  auto on_b = second->NewClient();
  on_b->SetToken(user.client->token());
  ASSERT_TRUE(WhoAmI(*on_b).ok());  // the same token works on both
  const std::string token = user.client->token();
  ASSERT_TRUE(user.client->SignOut().ok());
  auto again = server_->NewClient();
  again->SetToken(token);
  absl::Status after = WhoAmI(*again);
  EXPECT_EQ(after.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(after.message()), HasSubstr("session has ended"));
  EXPECT_EQ(WhoAmI(*on_b).code(), absl::StatusCode::kUnauthenticated);
  second->Stop();
}

TEST_F(BuiltInAccountsTest, ForgedExpiredAndUnsignedServerTokensAreRefused) {
  TestUser user = server_->CreateUser("Ash");
  const ServerKeys keys = DeriveServerKeys(ReadFile(server_->secret_file()));
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  // Take the real session id from a real token, then vary one thing at a time.
  auto jwt = ParseJwt(user.client->token());
  ASSERT_TRUE(jwt.ok());
  nlohmann::json claims = jwt->claims;
  EXPECT_TRUE(WithToken(*server_, "Bearer " + SignHs256Jwt(claims, keys.token_key)).ok());

  nlohmann::json expired = claims;
  expired["exp"] = now - 1;
  EXPECT_THAT(
      std::string(WithToken(*server_, "Bearer " + SignHs256Jwt(expired, keys.token_key)).message()),
      HasSubstr("expired"));
  EXPECT_THAT(
      std::string(
          WithToken(*server_, "Bearer " + SignHs256Jwt(claims, std::string(32, 'k'))).message()),
      HasSubstr("signature"));
  nlohmann::json other_person = claims;
  other_person["sub"] = "someone-else";
  EXPECT_EQ(WithToken(*server_, "Bearer " + SignHs256Jwt(other_person, keys.token_key)).code(),
            absl::StatusCode::kUnauthenticated);  // the session belongs to another person
  EXPECT_THAT(
      std::string(
          WithToken(*server_, "Bearer " + TestIdentityProvider::Unsigned(claims)).message()),
      HasSubstr("algorithm"));
}

// Signs in with a device name, as a phone does.
absl::StatusOr<v1::SignInResponse> SignInDevice(client::remote::RpcClient& anonymous,
                                                const std::string& user,
                                                const std::string& device) {
  v1::SignInRequest request;
  request.set_username(user);
  request.set_password(TestServer::kPassword);
  request.set_device_name(device);
  return anonymous.Call(&v1::AuthService::Stub::SignIn, request);
}

absl::StatusOr<v1::SignInResponse> Refresh(client::remote::RpcClient& anonymous,
                                           const std::string& token) {
  v1::RefreshSessionRequest request;
  request.set_refresh_token(token);
  return anonymous.Call(&v1::AuthService::Stub::RefreshSession, request);
}

TEST_F(BuiltInAccountsTest, ADeviceStaysSignedInWithRefreshTokensThatWorkOnce) {
  TestUser alex = server_->CreateUser("Alex device");
  auto anonymous = server_->NewClient();
  auto signed_in = SignInDevice(*anonymous, alex.id, "Alex's phone");
  ASSERT_TRUE(signed_in.ok()) << signed_in.status();
  ASSERT_FALSE(signed_in->refresh_token().empty());
  EXPECT_THAT(signed_in->session(), HasSubstr(alex.name + "/sessions/"));
  EXPECT_GT(signed_in->refresh_expire_time().seconds(), signed_in->expire_time().seconds());
  // A password sign-in without a device name has no refresh token.
  v1::SignInRequest plain;
  plain.set_username(alex.id);
  plain.set_password(TestServer::kPassword);
  EXPECT_TRUE(anonymous->Call(&v1::AuthService::Stub::SignIn, plain)->refresh_token().empty());

  // The refresh token buys a new access token (and a new refresh token), with no password.
  auto refreshed = Refresh(*anonymous, signed_in->refresh_token());
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_NE(refreshed->refresh_token(), signed_in->refresh_token());
  EXPECT_EQ(refreshed->session(), signed_in->session());
  auto device = server_->NewClient();
  device->SetToken(refreshed->access_token());
  EXPECT_TRUE(WhoAmI(*device).ok());

  // The person sees the device among their sessions.
  v1::ListSessionsRequest list;
  list.set_parent("people/me");
  auto sessions = device->Call(&v1::AuthService::Stub::ListSessions, list);
  ASSERT_TRUE(sessions.ok()) << sessions.status();
  bool found = false;
  for (const auto& session : sessions->sessions()) {
    if (session.name() == signed_in->session()) {
      found = true;
      EXPECT_EQ(session.device_name(), "Alex's phone");
      EXPECT_TRUE(session.current());
      EXPECT_TRUE(session.has_last_refresh_time());
    }
  }
  EXPECT_TRUE(found);

  // Presented again at once (the answer was lost on the way), it is a retry: a fresh pair.
  auto retried = Refresh(*anonymous, signed_in->refresh_token());
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_NE(retried->refresh_token(), refreshed->refresh_token());
  // Reuse long after an exchange ends the session: clock_rules_e2e_test.
  EXPECT_EQ(Refresh(*anonymous, "crt_made-up").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Refresh(*anonymous, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BuiltInAccountsTest, APersonEndsALostDevicesSessionFromAnother) {
  TestUser alex = server_->CreateUser("Alex lost phone");
  auto anonymous = server_->NewClient();
  auto phone = SignInDevice(*anonymous, alex.id, "lost phone");
  ASSERT_TRUE(phone.ok());
  auto phone_client = server_->NewClient();
  phone_client->SetToken(phone->access_token());
  ASSERT_TRUE(WhoAmI(*phone_client).ok());

  v1::RevokeSessionRequest revoke;
  revoke.set_name(phone->session());
  auto revoked = alex.client->Call(&v1::AuthService::Stub::RevokeSession, revoke);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_TRUE(revoked->has_revoke_time());
  EXPECT_EQ(WhoAmI(*phone_client).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Refresh(*anonymous, phone->refresh_token()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(alex.client->Call(&v1::AuthService::Stub::RevokeSession, revoke).status().code(),
            absl::StatusCode::kNotFound);
  // Someone else's session cannot be named, let alone ended.
  TestUser jordan = server_->CreateUser("Jordan sessions");
  v1::RevokeSessionRequest other;
  other.set_name(absl::StrCat(jordan.name, "/sessions/whatever"));
  EXPECT_EQ(alex.client->Call(&v1::AuthService::Stub::RevokeSession, other).status().code(),
            absl::StatusCode::kNotFound);
  v1::ListSessionsRequest theirs;
  theirs.set_parent(jordan.name);
  EXPECT_EQ(alex.client->Call(&v1::AuthService::Stub::ListSessions, theirs).status().code(),
            absl::StatusCode::kNotFound);
}

// The events of the person's own access log made by `method`.
std::vector<v1::AccessEvent> LoggedFor(TestUser& person, const std::string& method) {
  v1::ListAccessEventsRequest request;
  request.set_parent("people/me");
  request.set_page_size(500);
  auto events = person.client->Call(&v1::AuditService::Stub::ListAccessEvents, request);
  EXPECT_TRUE(events.ok()) << events.status();
  std::vector<v1::AccessEvent> found;
  if (!events.ok()) return found;
  for (const auto& event : events->events()) {
    if (event.method() == "coplan.v1." + method) found.push_back(event);
  }
  return found;
}

v1::ChangePasswordRequest PasswordChange(const std::string& current, const std::string& next) {
  v1::ChangePasswordRequest request;
  request.set_current_password(current);
  request.set_new_password(next);
  return request;
}

TEST_F(BuiltInAccountsTest, APersonChangesTheirPasswordAndTheirOtherSessionsEnd) {
  TestUser alex = server_->CreateUser("Alex new password");
  auto anonymous = server_->NewClient();
  auto phone = SignInDevice(*anonymous, alex.id, "phone someone took");
  ASSERT_TRUE(phone.ok()) << phone.status();
  auto phone_client = server_->NewClient();
  phone_client->SetToken(phone->access_token());
  testing::WatchCollector watch(*phone_client, testing::CreateCrisisPlan(alex).name());
  ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));
  const std::string next = "a much longer passphrase 42";

  // Bad input changes nothing, with the field named.
  auto change = [&](const v1::ChangePasswordRequest& request) {
    return alex.client->Call(&v1::AuthService::Stub::ChangePassword, request).status();
  };
  absl::Status short_one = change(PasswordChange(TestServer::kPassword, "short"));
  EXPECT_EQ(short_one.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_one.message()), HasSubstr("new_password"));
  EXPECT_EQ(change(PasswordChange("", next)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(change(PasswordChange(TestServer::kPassword, TestServer::kPassword)).code(),
            absl::StatusCode::kInvalidArgument);
  // A wrong current password is refused (a stolen token is not enough) and audited.
  absl::Status wrong = change(PasswordChange("not the password at all", next));
  EXPECT_EQ(wrong.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("current_password"));
  EXPECT_TRUE(WhoAmI(*phone_client).ok()) << "nothing changed";
  EXPECT_TRUE(server_->NewClient()->SignIn(alex.id, TestServer::kPassword).ok());

  auto changed = alex.client->Call(&v1::AuthService::Stub::ChangePassword,
                                   PasswordChange(TestServer::kPassword, next));
  ASSERT_TRUE(changed.ok()) << changed.status();
  // The phone's session and the sign-in just above ended; the one that changed it stays.
  EXPECT_EQ(changed->ended_sessions(), 2);
  EXPECT_TRUE(WhoAmI(*alex.client).ok());
  EXPECT_EQ(WhoAmI(*phone_client).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Refresh(*anonymous, phone->refresh_token()).status().code(),
            absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(watch.WaitForEnd(absl::Seconds(5)));
  EXPECT_EQ(watch.status().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(server_->NewClient()->SignIn(alex.id, TestServer::kPassword).ok());
  EXPECT_TRUE(server_->NewClient()->SignIn(alex.id, next).ok());

  // Alex's own access log shows the change and the refused attempt.
  std::vector<v1::AccessEvent> logged = LoggedFor(alex, "AuthService/ChangePassword");
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0].outcome(), v1::AUDIT_OUTCOME_ALLOWED);
  EXPECT_EQ(logged[1].outcome(), v1::AUDIT_OUTCOME_DENIED);
  EXPECT_EQ(logged[0].resource(), alex.name + "/account");
  EXPECT_EQ(logged[0].action(), v1::AUDIT_ACTION_UPDATE);
}

TEST_F(BuiltInAccountsTest, WrongCurrentPasswordsCountAsFailedSignIns) {
  TestUser alex = server_->CreateUser("Alex guessed");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(alex.client
                  ->Call(&v1::AuthService::Stub::ChangePassword,
                         PasswordChange(absl::StrCat("guess number ", i), "a new long password"))
                  .status()
                  .code(),
              absl::StatusCode::kPermissionDenied);
  }
  // Paused now, for ChangePassword (even with the right one) and for SignIn alike.
  EXPECT_EQ(alex.client
                ->Call(&v1::AuthService::Stub::ChangePassword,
                       PasswordChange(TestServer::kPassword, "a new long password"))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(server_->NewClient()->SignIn(alex.id, TestServer::kPassword).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(BuiltInAccountsTest, AnAdministratorDisablesAnAccountAndItsSessionsEndAtOnce) {
  TestUser alex = server_->CreateUser("Alex disabled");
  TestUser clinician = server_->CreateUser("Clinician disabling", {.clinician = true});
  auto phone = SignInDevice(*server_->NewClient(), alex.id, "phone");
  ASSERT_TRUE(phone.ok()) << phone.status();
  const v1::Plan plan = testing::CreateCrisisPlan(alex);
  testing::WatchCollector watch(*alex.client, plan.name());
  ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));
  // A second instance of the deployment ends the streams it holds too.
  auto other =
      TestServer::Start({.conninfo = server_->conninfo(), .secret_file = server_->secret_file()});
  auto other_client = other->NewClient();
  other_client->SetToken(phone->access_token());
  testing::WatchCollector other_watch(*other_client, plan.name());
  ASSERT_TRUE(other_watch.WaitFor([](const auto& events) { return !events.empty(); }));

  v1::DisableAccountRequest disable;
  disable.set_name(alex.name);
  // Only administrators, and never their own account.
  EXPECT_EQ(
      clinician.client->Call(&v1::PeopleService::Stub::DisableAccount, disable).status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(WhoAmI(*alex.client).ok());
  v1::DisableAccountRequest self;
  self.set_name("people/me");
  EXPECT_EQ(server_->admin().Call(&v1::PeopleService::Stub::DisableAccount, self).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::DisableAccountRequest unknown;
  unknown.set_name("people/nobody-here");
  EXPECT_EQ(
      server_->admin().Call(&v1::PeopleService::Stub::DisableAccount, unknown).status().code(),
      absl::StatusCode::kNotFound);

  auto disabled = server_->admin().Call(&v1::PeopleService::Stub::DisableAccount, disable);
  ASSERT_TRUE(disabled.ok()) << disabled.status();
  EXPECT_TRUE(disabled->has_disable_time());
  ASSERT_TRUE(watch.WaitForEnd(absl::Seconds(5)));
  ASSERT_TRUE(other_watch.WaitForEnd(absl::Seconds(5)));
  absl::Status refused = WhoAmI(*alex.client);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(WhoAmI(*other_client).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Refresh(*server_->NewClient(), phone->refresh_token()).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Signing in gets the answer of a wrong password, which says nothing of why.
  absl::Status sign_in = server_->NewClient()->SignIn(alex.id, TestServer::kPassword);
  absl::Status wrong = server_->NewClient()->SignIn(alex.id, "not the password at all");
  EXPECT_EQ(sign_in.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(sign_in.message(), wrong.message());
  // The care team still reads the plan: the records stay.
  v1::CreateCareTeamMemberRequest join;
  join.set_parent(alex.name);
  join.mutable_care_team_member()->set_clinician(clinician.name);
  ASSERT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::CreateCareTeamMember, join).ok());
  v1::GetPlanRequest read;
  read.set_name(plan.name());
  EXPECT_TRUE(clinician.client->Call(&v1::PlanService::Stub::GetPlan, read).ok());

  v1::EnableAccountRequest enable;
  enable.set_name(alex.name);
  auto enabled = server_->admin().Call(&v1::PeopleService::Stub::EnableAccount, enable);
  ASSERT_TRUE(enabled.ok()) << enabled.status();
  EXPECT_FALSE(enabled->has_disable_time());
  EXPECT_EQ(WhoAmI(*other_client).code(), absl::StatusCode::kUnauthenticated)
      << "sessions ended by the disable stay ended";
  EXPECT_EQ(Refresh(*server_->NewClient(), phone->refresh_token()).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Alex signs in afresh (the client keeps the password and does it by itself).
  ASSERT_TRUE(WhoAmI(*alex.client).ok());
  // Both are in Alex's own access log, by the administrator.
  std::vector<v1::AccessEvent> disables = LoggedFor(alex, "PeopleService/DisableAccount");
  std::vector<v1::AccessEvent> enables = LoggedFor(alex, "PeopleService/EnableAccount");
  ASSERT_EQ(enables.size(), 1u);
  ASSERT_GE(disables.size(), 1u);
  EXPECT_EQ(disables[0].outcome(), v1::AUDIT_OUTCOME_ALLOWED);
  EXPECT_NE(disables[0].actor(), alex.name);
  EXPECT_EQ(disables[0].resource(), alex.name + "/account");
}

// Token keys rotate apart from the master secret (whose audit key must stay): the command
// writes the file, the server signs with the file's key and names it in each token.
TEST(TokenKeyFileTest, TheServerSignsWithTheFilesKeyAndARotationKeepsItsTokensWorking) {
  const std::string file = testing::MakeTempDir("coplan-test-token-keys") + "/token-keys";
  auto made = testing::RunProgram(
      {testing::ServerBinary(), "rotate-token-key", "--token_key_file=" + file});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto first = ReadTokenKeyFile(file);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->keys().size(), 1u);
  struct stat info;
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);

  auto server = TestServer::Start(
      {.configure = [file](ServerConfig& config) { config.token_key_file = file; }});
  TestUser alex = server->CreateUser("Alex token keys");
  auto token = ParseJwt(alex.client->token());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->header.value("kid", ""), first->keys()[0].kid);
  // A token of the key derived from the master secret is not accepted beside the file.
  nlohmann::json claims = token->claims;
  const ServerKeys keys = *LoadServerKeys(server->secret_file(), false);
  EXPECT_EQ(WithToken(*server, "Bearer " + SignHs256Jwt(claims, keys.token_key)).code(),
            absl::StatusCode::kUnauthenticated);

  auto rotated = testing::RunProgram(
      {testing::ServerBinary(), "rotate-token-key", "--token_key_file=" + file});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  auto second = ReadTokenKeyFile(file);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->keys().size(), 2u) << "the first stays: its tokens are live";
  EXPECT_NE(second->Find(first->keys()[0].kid), nullptr);
  EXPECT_GT(second->keys()[0].signing_since, absl::Now() + absl::Minutes(4))
      << "the new key signs only once every instance has read it";
  EXPECT_TRUE(WhoAmI(*alex.client).ok());
}

class OidcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    idp_ = new TestIdentityProvider("https://idp.test/realms/nhs");
    const std::string dir = testing::MakeTempDir("coplan-test-jwks");
    std::ofstream(dir + "/jwks.json") << idp_->JwksJson();
    server_ = TestServer::Start({.configure = [dir](ServerConfig& config) {
                config.oidc_providers.push_back(
                    {"https://idp.test/realms/nhs", kAudience, dir + "/jwks.json"});
              }}).release();
    v1::CreatePersonRequest person;
    person.set_person_id("oidc-person");
    person.mutable_person()->set_display_name("Jo via NHS login");
    ASSERT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::CreatePerson, person).ok());
    v1::CreateExternalIdentityRequest identity;
    identity.set_parent("people/oidc-person");
    identity.mutable_external_identity()->set_issuer("https://idp.test/realms/nhs");
    identity.mutable_external_identity()->set_subject("9434765919");
    auto linked = server_->admin().Call(&v1::PeopleService::Stub::CreateExternalIdentity, identity);
    ASSERT_TRUE(linked.ok()) << linked.status();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete idp_;
  }

  static nlohmann::json Valid() { return idp_->ValidClaims(kAudience, "9434765919"); }
  static absl::Status Try(const std::string& token) {
    return WithToken(*server_, "Bearer " + token);
  }

  static TestServer* server_;
  static TestIdentityProvider* idp_;
};

TestServer* OidcTest::server_ = nullptr;
TestIdentityProvider* OidcTest::idp_ = nullptr;

TEST_F(OidcTest, ValidRs256AndEs256TokensMapToTheLinkedPerson) {
  for (const char* alg : {"RS256", "ES256"}) {
    auto client = server_->NewClient();
    client->SetToken(idp_->Sign(Valid(), alg));
    v1::GetPersonRequest request;
    request.set_name("people/me");
    auto me = client->Call(&v1::PeopleService::Stub::GetPerson, request);
    ASSERT_TRUE(me.ok()) << alg << ": " << me.status();
    EXPECT_EQ(me->name(), "people/oidc-person");
    // A second call is served from the verified-token cache, with the same answer.
    EXPECT_TRUE(client->Call(&v1::PeopleService::Stub::GetPerson, request).ok());
    // Tokens of the provider cannot be signed out here.
    EXPECT_EQ(client->SignOut().code(), absl::StatusCode::kFailedPrecondition);
  }
  nlohmann::json audience_list = Valid();
  audience_list["aud"] = {"another-app", kAudience};
  EXPECT_TRUE(Try(idp_->Sign(audience_list, "ES256")).ok());
  nlohmann::json small_skew = Valid();
  small_skew["exp"] = absl::ToUnixSeconds(absl::Now()) - 20;  // within the 60 s allowance
  EXPECT_TRUE(Try(idp_->Sign(small_skew, "RS256")).ok());
}

TEST_F(OidcTest, UnlinkingAnIdentityOrDisablingItsPersonEndsItsTokensAtOnce) {
  v1::CreatePersonRequest person;
  person.set_person_id("oidc-unlinked");
  person.mutable_person()->set_display_name("Sam via NHS login");
  ASSERT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::CreatePerson, person).ok());
  v1::CreateExternalIdentityRequest link;
  link.set_parent("people/oidc-unlinked");
  link.mutable_external_identity()->set_issuer("https://idp.test/realms/nhs");
  link.mutable_external_identity()->set_subject("4010232137");
  auto linked = server_->admin().Call(&v1::PeopleService::Stub::CreateExternalIdentity, link);
  ASSERT_TRUE(linked.ok()) << linked.status();
  auto sam = server_->NewClient();
  sam->SetToken(idp_->Sign(idp_->ValidClaims(kAudience, "4010232137"), "ES256"));
  ASSERT_TRUE(WhoAmI(*sam).ok());
  // No password to change here.
  EXPECT_EQ(sam->Call(&v1::AuthService::Stub::ChangePassword,
                      PasswordChange("anything at all", "a new long password"))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);

  // Disabling the person refuses the provider's token, which is cached as verified.
  v1::DisableAccountRequest disable;
  disable.set_name("people/oidc-unlinked");
  ASSERT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::DisableAccount, disable).ok());
  EXPECT_THAT(std::string(WhoAmI(*sam).message()), HasSubstr("disabled"));
  v1::EnableAccountRequest enable;
  enable.set_name("people/oidc-unlinked");
  ASSERT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::EnableAccount, enable).ok());
  ASSERT_TRUE(WhoAmI(*sam).ok());

  v1::ListExternalIdentitiesRequest list;
  list.set_parent("people/oidc-unlinked");
  auto identities = server_->admin().Call(&v1::PeopleService::Stub::ListExternalIdentities, list);
  ASSERT_TRUE(identities.ok()) << identities.status();
  ASSERT_EQ(identities->external_identities_size(), 1);
  EXPECT_EQ(identities->external_identities(0).name(), linked->name());
  EXPECT_EQ(sam->Call(&v1::PeopleService::Stub::ListExternalIdentities, list).status().code(),
            absl::StatusCode::kPermissionDenied);

  v1::DeleteExternalIdentityRequest unlink;
  unlink.set_name(linked->name());
  EXPECT_EQ(sam->Call(&v1::PeopleService::Stub::DeleteExternalIdentity, unlink).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto removed = server_->admin().Call(&v1::PeopleService::Stub::DeleteExternalIdentity, unlink);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->subject(), "4010232137");
  // The token is still validly signed and cached, but what it rests on is gone.
  EXPECT_EQ(WhoAmI(*sam).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(server_->admin()
                .Call(&v1::PeopleService::Stub::DeleteExternalIdentity, unlink)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  auto none = server_->admin().Call(&v1::PeopleService::Stub::ListExternalIdentities, list);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->external_identities_size(), 0);
}

TEST_F(OidcTest, EveryBadTokenIsUnauthenticatedWithAClearMessage) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto with = [](std::function<void(nlohmann::json&)> change) {
    nlohmann::json claims = Valid();
    change(claims);
    return claims;
  };
  const std::string valid = idp_->Sign(Valid(), "RS256");
  std::string tampered = valid;
  {
    // Swap the claims for others, keeping the original signature.
    const size_t first = tampered.find('.'), second = tampered.rfind('.');
    nlohmann::json changed = Valid();
    changed["sub"] = "someone-else";
    tampered =
        tampered.substr(0, first + 1) + Base64UrlEncode(changed.dump()) + tampered.substr(second);
  }
  // A token claiming HS256, as in the attack that uses the RSA public key as an HMAC
  // secret: the algorithm alone must refuse it.
  const std::string confused = idp_->Sign(Valid(), "RS256", {{"alg", "HS256"}});
  struct Case {
    std::string name;
    std::string authorization;  // full metadata value; "" for none
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"missing", "", "missing credentials"},
      {"not bearer", "Basic dXNlcjpwYXNz", "Bearer"},
      {"empty bearer", "Bearer ", "token is empty"},
      {"malformed", "Bearer not-a-jwt", "not a valid JWT"},
      {"garbage parts", "Bearer a.b.c", "not a valid JWT"},
      {"expired", "Bearer " + idp_->Sign(with([&](auto& c) { c["exp"] = now - 3600; }), "RS256"),
       "expired"},
      {"no expiry", "Bearer " + idp_->Sign(with([](auto& c) { c.erase("exp"); }), "ES256"),
       "expiry"},
      {"not yet valid",
       "Bearer " + idp_->Sign(with([&](auto& c) { c["nbf"] = now + 3600; }), "RS256"),
       "not valid yet"},
      {"wrong issuer",
       "Bearer " + idp_->Sign(with([](auto& c) { c["iss"] = "https://evil.test"; }), "RS256"),
       "not trusted"},
      {"wrong audience",
       "Bearer " + idp_->Sign(with([](auto& c) { c["aud"] = "other-app"; }), "ES256"), "audience"},
      {"alg none", "Bearer " + TestIdentityProvider::Unsigned(Valid()), "algorithm \"none\""},
      {"alg confusion", "Bearer " + confused, "algorithm \"HS256\""},
      {"tampered", "Bearer " + tampered, "signature is invalid"},
      {"unknown key", "Bearer " + idp_->Sign(Valid(), "RS256", {{"kid", "rotated-away"}}),
       "no key"},
      {"wrong alg for key", "Bearer " + idp_->Sign(Valid(), "RS256", {{"alg", "ES256"}}), ""},
      {"unlinked subject", "Bearer " + idp_->Sign(with([](auto& c) { c["sub"] = "000"; }), "ES256"),
       "no Coplan person is linked"},
  };
  for (const Case& c : cases) {
    absl::Status status = WithToken(*server_, c.authorization);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << c.name << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.expected)) << c.name;
  }
}

}  // namespace
}  // namespace coplan
