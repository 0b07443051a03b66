#include "tests/support/test_certificates.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/test_cluster.h"

namespace coplan::testing {
namespace {

constexpr char kOpenssl[] = "/usr/bin/openssl";

void Run(const std::vector<std::string>& argv) {
  ProcessResult result = RunProgram(argv);
  if (result.exit_code != 0) {
    std::cerr << "test certificates: " << argv[1] << " failed: " << result.output << "\n";
    std::abort();
  }
}

void MakeAuthority(const std::string& dir, const std::string& name, const std::string& subject) {
  Run({kOpenssl,
       "req",
       "-x509",
       "-newkey",
       "ec",
       "-pkeyopt",
       "ec_paramgen_curve:P-256",
       "-nodes",
       "-keyout",
       dir + "/" + name + ".key",
       "-out",
       dir + "/" + name + ".crt",
       "-days",
       "2",
       "-subj",
       subject,
       "-addext",
       "basicConstraints=critical,CA:TRUE",
       "-addext",
       "keyUsage=critical,keyCertSign,cRLSign"});
}

// A leaf certificate `name` signed by `authority`, for a server or a client.
void MakeLeaf(const std::string& dir, const std::string& name, const std::string& authority,
              const std::string& subject, bool server) {
  const std::string extensions = dir + "/" + name + ".ext";
  std::ofstream(extensions) << "basicConstraints=critical,CA:FALSE\n"
                            << (server ? "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                         "extendedKeyUsage=serverAuth\n"
                                       : "extendedKeyUsage=clientAuth\n");
  Run({kOpenssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".csr", "-subj", subject});
  Run({kOpenssl, "x509", "-req", "-in", dir + "/" + name + ".csr", "-CA",
       dir + "/" + authority + ".crt", "-CAkey", dir + "/" + authority + ".key", "-CAcreateserial",
       "-days", "2", "-extfile", extensions, "-out", dir + "/" + name + ".crt"});
}

}  // namespace

TestCertificates TestCertificates::Make() {
  TestCertificates made;
  made.dir = MakeTempDir("coplan-test-tls");
  const std::string& dir = made.dir;
  MakeAuthority(dir, "ca", "/CN=Coplan test CA");
  MakeAuthority(dir, "other-ca", "/CN=Another test CA");
  MakeLeaf(dir, "server", "ca", "/CN=localhost", /*server=*/true);
  MakeLeaf(dir, "client", "ca", "/CN=coplan-test-service", /*server=*/false);
  MakeLeaf(dir, "other-server", "other-ca", "/CN=localhost", /*server=*/true);
  made.ca_cert = dir + "/ca.crt";
  made.server_cert = dir + "/server.crt";
  made.server_key = dir + "/server.key";
  made.client_cert = dir + "/client.crt";
  made.client_key = dir + "/client.key";
  made.other_ca_cert = dir + "/other-ca.crt";
  made.other_server_cert = dir + "/other-server.crt";
  made.other_server_key = dir + "/other-server.key";
  return made;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace coplan::testing
