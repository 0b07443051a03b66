// Transport security, end to end over real sockets, with certificates the test run makes
// (tests/support/test_certificates.h): TLS clients connect and plaintext or wrongly rooted
// ones do not; only TLS 1.2+ with ECDHE and AEAD ciphers is negotiated (checked with
// `openssl s_client`); mutual TLS refuses clients without a certificate from the
// configured CA; a renewed certificate is served to new connections without a restart;
// the client library and the CLI speak TLS and mutual TLS; and bad files or a plaintext
// port beyond loopback stop the server with a message naming the flag and the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "remote/rpc_client.h"
#include "server/app/server_app.h"
#include "tests/support/grpc_probe.h"
#include "tests/support/process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_cluster.h"
#include "tests/support/test_server.h"

namespace coplan {
namespace {

using ::testing::HasSubstr;
using testing::ReadText;
using testing::TestCertificates;
using testing::TestServer;

const TestCertificates& Certificates() {
  static const TestCertificates* const made = new TestCertificates(TestCertificates::Make());
  return *made;
}

std::shared_ptr<grpc::ChannelCredentials> TlsTrusting(const std::string& ca_file,
                                                      const std::string& client_cert = "",
                                                      const std::string& client_key = "") {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadText(ca_file);
  if (!client_cert.empty()) {
    ssl.pem_cert_chain = ReadText(client_cert);
    ssl.pem_private_key = ReadText(client_key);
  }
  return grpc::SslCredentials(ssl);
}

// Signs in on a channel of its own (never one shared with an earlier client, so each
// check is a new connection and a new handshake).
absl::Status SignInOver(const std::string& address,
                        std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  client::remote::RpcClientOptions options;
  options.channel = grpc::CreateCustomChannel(address, credentials, arguments);
  options.default_deadline = absl::Seconds(5);
  options.max_attempts = 1;
  client::remote::RpcClient client(options);
  return client.SignIn("admin", TestServer::kPassword);
}

std::unique_ptr<TestServer> StartTlsServer(
    const std::string& cert, const std::string& key, const std::string& client_ca = "",
    std::shared_ptr<grpc::ChannelCredentials> admin = nullptr) {
  TestServer::Options options;
  options.configure = [&](ServerConfig& config) {
    config.tls_cert_file = cert;
    config.tls_key_file = key;
    config.tls_client_ca_file = client_ca;
    config.tls_reload_interval = absl::Seconds(1);
  };
  options.client_credentials = admin != nullptr ? admin : TlsTrusting(Certificates().ca_cert);
  return TestServer::Start(options);
}

// What `openssl s_client` negotiates with the server, offering only what the flags allow.
// The security level is lowered on the client so that old versions and ciphers are really
// offered: refusing them is then the server's doing.
testing::ProcessResult OpensslConnect(const std::string& address,
                                      const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {
      "/usr/bin/openssl",     "s_client", "-connect", address, "-CAfile", Certificates().ca_cert,
      "-verify_return_error", "-alpn",    "h2"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return testing::RunProgram(argv, "", absl::Seconds(20));
}

TEST(TlsTest, ATlsClientTrustingTheServersCaSignsInAndCalls) {
  auto server = StartTlsServer(Certificates().server_cert, Certificates().server_key);
  // TestServer signed its administrator in over TLS already; a person's call too:
  testing::TestUser alex = server->CreateUser("Alex");
  v1::GetPersonRequest request;
  request.set_name(alex.name);
  auto person = alex.client->Call(&v1::PeopleService::Stub::GetPerson, request);
  ASSERT_TRUE(person.ok()) << person.status();
  EXPECT_EQ(person->display_name(), "Alex");
}

TEST(TlsTest, PlaintextAndWronglyRootedClientsAreRefused) {
  auto server = StartTlsServer(Certificates().server_cert, Certificates().server_key);
  absl::Status plaintext = SignInOver(server->address(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(plaintext.code(), absl::StatusCode::kUnavailable) << plaintext;
  absl::Status wrong_ca = SignInOver(server->address(), TlsTrusting(Certificates().other_ca_cert));
  EXPECT_EQ(wrong_ca.code(), absl::StatusCode::kUnavailable) << wrong_ca;
  EXPECT_TRUE(SignInOver(server->address(), TlsTrusting(Certificates().ca_cert)).ok());
}

TEST(TlsTest, OnlyTls12AndLaterWithForwardSecretAeadCiphersAreNegotiated) {
  auto server = StartTlsServer(Certificates().server_cert, Certificates().server_key);
  testing::ProcessResult preferred = OpensslConnect(server->address(), {});
  EXPECT_EQ(preferred.exit_code, 0) << preferred.output;
  EXPECT_THAT(preferred.output, HasSubstr("New, TLSv1.3, Cipher is TLS_AES_"));

  testing::ProcessResult tls12 =
      OpensslConnect(server->address(), {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"});
  EXPECT_EQ(tls12.exit_code, 0) << tls12.output;
  EXPECT_THAT(tls12.output, HasSubstr("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"));

  for (const std::string version : {"-tls1", "-tls1_1"}) {
    testing::ProcessResult old =
        OpensslConnect(server->address(), {version, "-cipher", "DEFAULT:@SECLEVEL=0"});
    // The server ends the handshake (without an alert): no cipher was agreed.
    EXPECT_NE(old.exit_code, 0) << version << " was accepted:\n" << old.output;
    EXPECT_THAT(old.output, HasSubstr("Cipher is (NONE)")) << version;
  }
  // TLS 1.2 with a CBC cipher and SHA-1 MACs, which OpenSSL still offers at a low level:
  testing::ProcessResult cbc = OpensslConnect(
      server->address(), {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"});
  EXPECT_NE(cbc.exit_code, 0) << "CBC was accepted:\n" << cbc.output;
  EXPECT_THAT(cbc.output, HasSubstr("Cipher is (NONE)"));
}

TEST(TlsTest, MutualTlsRefusesClientsWithoutACertificateFromTheConfiguredCa) {
  const TestCertificates& certificates = Certificates();
  auto server = StartTlsServer(
      certificates.server_cert, certificates.server_key, certificates.ca_cert,
      TlsTrusting(certificates.ca_cert, certificates.client_cert, certificates.client_key));
  EXPECT_TRUE(
      SignInOver(server->address(), TlsTrusting(certificates.ca_cert, certificates.client_cert,
                                                certificates.client_key))
          .ok());
  absl::Status without = SignInOver(server->address(), TlsTrusting(certificates.ca_cert));
  EXPECT_EQ(without.code(), absl::StatusCode::kUnavailable) << without;
  // A certificate the server's CA did not sign.
  absl::Status foreign = SignInOver(
      server->address(), TlsTrusting(certificates.ca_cert, certificates.other_server_cert,
                                     certificates.other_server_key));
  EXPECT_EQ(foreign.code(), absl::StatusCode::kUnavailable) << foreign;
}

TEST(TlsTest, ARenewedCertificateIsServedToNewConnectionsWithoutARestart) {
  const TestCertificates& certificates = Certificates();
  const std::string dir = testing::MakeTempDir("coplan-test-tls-renewal");
  const std::string cert = dir + "/server.crt";
  const std::string key = dir + "/server.key";
  std::filesystem::copy_file(certificates.server_cert, cert);
  std::filesystem::copy_file(certificates.server_key, key);
  auto server = StartTlsServer(cert, key);
  ASSERT_TRUE(SignInOver(server->address(), TlsTrusting(certificates.ca_cert)).ok());

  // Renewed as certificate tools do it: the new files are written aside and renamed in.
  std::filesystem::copy_file(certificates.other_server_key, key + ".new");
  std::filesystem::copy_file(certificates.other_server_cert, cert + ".new");
  std::filesystem::rename(key + ".new", key);
  std::filesystem::rename(cert + ".new", cert);
  absl::Status renewed = absl::UnknownError("not tried");
  for (int attempt = 0; attempt < 40 && !renewed.ok(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    renewed = SignInOver(server->address(), TlsTrusting(certificates.other_ca_cert));
  }
  EXPECT_TRUE(renewed.ok()) << "the renewed certificate was not served within 10 s: " << renewed;
  absl::Status old = SignInOver(server->address(), TlsTrusting(certificates.ca_cert));
  EXPECT_EQ(old.code(), absl::StatusCode::kUnavailable) << old;
}

// Kubernetes' grpc probes speak plaintext only: with TLS on the API's port they go to the
// health-only port, which serves nothing but the health service.
TEST(TlsTest, ProbesUseAPlaintextPortThatServesHealthAlone) {
  TestServer::Options options;
  options.configure = [](ServerConfig& config) {
    config.tls_cert_file = Certificates().server_cert;
    config.tls_key_file = Certificates().server_key;
    config.health_listen = "127.0.0.1:0";
  };
  options.client_credentials = TlsTrusting(Certificates().ca_cert);
  auto server = TestServer::Start(options);
  auto probe =
      grpc::CreateChannel(server->app().health_address(), grpc::InsecureChannelCredentials());
  auto health = testing::CheckHealth(probe);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 1);
  grpc::Status api = testing::CallWithRawRequest(probe, "/coplan.v1.AuthService/SignIn", "");
  EXPECT_EQ(api.error_code(), grpc::StatusCode::UNIMPLEMENTED) << api.error_message();
  EXPECT_FALSE(testing::ListServicesByReflection(probe).ok());
  server->Stop();
  auto stopped = testing::CheckHealth(probe);
  EXPECT_FALSE(stopped.ok() && *stopped == 1);
}

TEST(TlsTest, TheCliSpeaksTlsAndMutualTls) {
  const char* cli = std::getenv("COPLAN_CLI_BINARY");
  ASSERT_NE(cli, nullptr) << "COPLAN_CLI_BINARY is not set";
  const TestCertificates& certificates = Certificates();
  auto server = StartTlsServer(
      certificates.server_cert, certificates.server_key, certificates.ca_cert,
      TlsTrusting(certificates.ca_cert, certificates.client_cert, certificates.client_key));
  auto whoami = [&](std::vector<std::string> flags) {
    std::vector<std::string> argv = {cli, "--server=" + server->address(), "--user=admin",
                                     absl::StrCat("--password=", TestServer::kPassword)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("whoami");
    return testing::RunProgram(argv, "", absl::Seconds(60));
  };
  testing::ProcessResult mutual = whoami({"--tls_roots=" + certificates.ca_cert,
                                          "--tls_client_cert=" + certificates.client_cert,
                                          "--tls_client_key=" + certificates.client_key});
  EXPECT_EQ(mutual.exit_code, 0) << mutual.output;
  EXPECT_THAT(mutual.output, HasSubstr("Test administrator"));

  testing::ProcessResult no_client_cert = whoami({"--tls_roots=" + certificates.ca_cert});
  EXPECT_NE(no_client_cert.exit_code, 0) << no_client_cert.output;

  testing::ProcessResult unreadable = whoami({"--tls_roots=" + certificates.dir + "/missing.crt",
                                              "--tls_client_cert=" + certificates.client_cert,
                                              "--tls_client_key=" + certificates.client_key});
  EXPECT_NE(unreadable.exit_code, 0);
  EXPECT_THAT(unreadable.output, HasSubstr("--tls_roots: cannot read"));
}

// The checks made before anything else starts: no database is reached, so an unreachable
// one stands in.
absl::Status StartWith(const std::function<void(ServerConfig&)>& configure) {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.database_url = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=1";
  config.secret_file = Certificates().dir + "/no-secret.key";
  config.log_level = LogLevel::kError;
  configure(config);
  return ServerApp::Start(config).status();
}

TEST(TlsTest, BadFilesStopTheServerWithAMessageNamingTheFlagAndTheFile) {
  const TestCertificates& certificates = Certificates();
  const std::string garbage = certificates.dir + "/garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  struct Case {
    std::string cert, key, client_ca, expected;
  };
  const std::vector<Case> cases = {
      {certificates.dir + "/missing.crt", certificates.server_key, "",
       "--tls_cert_file " + certificates.dir + "/missing.crt: cannot be read"},
      {garbage, certificates.server_key, "", "--tls_cert_file " + garbage + ": holds no PEM"},
      {certificates.server_cert, garbage, "", "--tls_key_file " + garbage + ": holds no"},
      {certificates.server_cert, certificates.other_server_key, "",
       "--tls_key_file " + certificates.other_server_key + " is not the key of the certificate"},
      {certificates.server_cert, certificates.server_key, certificates.client_cert,
       "--tls_client_ca_file " + certificates.client_cert +
           ": /CN=coplan-test-service is not "
           "a CA certificate"},
      {certificates.server_cert, certificates.server_key, garbage,
       "--tls_client_ca_file " + garbage + ": holds no PEM"},
  };
  for (const Case& bad : cases) {
    absl::Status status = StartWith([&](ServerConfig& config) {
      config.tls_cert_file = bad.cert;
      config.tls_key_file = bad.key;
      config.tls_client_ca_file = bad.client_ca;
    });
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(bad.expected));
  }
  // Good files get past these checks (to the missing database).
  absl::Status good = StartWith([&](ServerConfig& config) {
    config.tls_cert_file = certificates.server_cert;
    config.tls_key_file = certificates.server_key;
    config.tls_client_ca_file = certificates.ca_cert;
  });
  EXPECT_THAT(std::string(good.message()), ::testing::Not(HasSubstr("--tls")));
}

TEST(TlsTest, PlaintextIsServedOnLoopbackOnlyUnlessAllowed) {
  absl::Status everywhere = StartWith([](ServerConfig& config) { config.listen = "0.0.0.0:0"; });
  EXPECT_EQ(everywhere.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(everywhere.message()),
              HasSubstr("--listen=0.0.0.0:0 would serve plaintext beyond this machine"));
  EXPECT_THAT(std::string(everywhere.message()), HasSubstr("--allow_plaintext"));
  absl::Status allowed = StartWith([](ServerConfig& config) {
    config.listen = "0.0.0.0:0";
    config.allow_plaintext = true;
  });
  EXPECT_THAT(std::string(allowed.message()), ::testing::Not(HasSubstr("plaintext")));
  absl::Status mutual_without_tls =
      StartWith([](ServerConfig& config) { config.tls_client_ca_file = Certificates().ca_cert; });
  EXPECT_THAT(std::string(mutual_without_tls.message()),
              HasSubstr("--tls_client_ca_file (mutual TLS) needs --tls_cert_file"));

  // The binary says so before it starts anything, the demo too (scripts/demo passes its
  // arguments on).
  testing::ProcessResult demo =
      testing::RunProgram({testing::ServerBinary(), "--demo",
                           "--data_dir=" + Certificates().dir + "/demo", "--listen=0.0.0.0:0"});
  EXPECT_EQ(demo.exit_code, 1) << demo.output;
  EXPECT_THAT(demo.output, HasSubstr("would serve plaintext beyond this machine"));
  EXPECT_FALSE(std::filesystem::exists(Certificates().dir + "/demo/pgdata"));
}

}  // namespace
}  // namespace coplan
