// Certificates made by the test run with the openssl command (Debian's), in a new
// directory: two independent CAs, a server certificate from each (for localhost and
// 127.0.0.1), and a client certificate from the first. Keys are P-256, unencrypted.
//
//   TestCertificates certificates = TestCertificates::Make();
//   config.tls_cert_file = certificates.server_cert;
//   grpc::SslCredentialsOptions ssl{.pem_root_certs = ReadText(certificates.ca_cert)};
#pragma once

#include <string>

namespace coplan::testing {

struct TestCertificates {
  std::string dir;
  std::string ca_cert;  // the CA that signs server_cert and client_cert
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  std::string other_ca_cert;  // a second CA, trusted by no one in particular
  std::string other_server_cert;
  std::string other_server_key;

  // Aborts the test binary if openssl fails (nothing can be tested without them).
  static TestCertificates Make();
};

// A file's whole text ("" when it cannot be read).
std::string ReadText(const std::string& path);

}  // namespace coplan::testing
