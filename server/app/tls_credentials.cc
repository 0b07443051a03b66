#include "server/app/tls_credentials.h"

#include <arpa/inet.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"

namespace coplan {
namespace {

struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Certificate = std::unique_ptr<X509, X509Free>;
using PrivateKey = std::unique_ptr<EVP_PKEY, KeyFree>;

absl::StatusOr<std::string> ReadWhole(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, " ", path, ": cannot be read (", std::strerror(errno), ")"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& bytes) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), INT32_MAX))));
}

// Every PEM certificate in the text, in order.
std::vector<Certificate> ReadCertificates(const std::string& pem) {
  std::vector<Certificate> certificates;
  auto bio = MemoryBio(pem);
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(certificate);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return certificates;
}

// An encrypted key is refused rather than asked for: a service has no one to type it.
int RefusePassphrase(char*, int, int, void*) { return 0; }

std::string SubjectOf(X509* certificate) {
  char name[256] = {0};
  X509_NAME_oneline(X509_get_subject_name(certificate), name, sizeof name);
  return name;
}

absl::StatusOr<std::vector<Certificate>> ReadCertificateFile(const char* flag,
                                                             const std::string& path) {
  auto pem = ReadWhole(flag, path);
  if (!pem.ok()) return pem.status();
  std::vector<Certificate> certificates = ReadCertificates(*pem);
  if (certificates.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, " ", path, ": holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  return certificates;
}

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files) {
  auto chain = ReadCertificateFile("--tls_cert_file", files.cert_file);
  if (!chain.ok()) return chain.status();
  auto key_pem = ReadWhole("--tls_key_file", files.key_file);
  if (!key_pem.ok()) return key_pem.status();
  auto key_bio = MemoryBio(*key_pem);
  PrivateKey key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, RefusePassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tls_key_file ", files.key_file, ": holds no unencrypted PEM private key"));
  }
  X509* leaf = chain->front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat("--tls_key_file ", files.key_file, " is not the key of the certificate in ",
                     "--tls_cert_file ", files.cert_file, " (", SubjectOf(leaf), ")"));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    // Served anyway: refusing to start would not bring a valid certificate, and a renewal
    // dropped in place is picked up without a restart.
    Log(LogLevel::kWarning, "tls_certificate_expired")
        .Str("file", files.cert_file)
        .Str("subject", SubjectOf(leaf));
  }
  if (!files.client_ca_file.empty()) {
    auto authorities = ReadCertificateFile("--tls_client_ca_file", files.client_ca_file);
    if (!authorities.ok()) return authorities.status();
    for (const Certificate& authority : *authorities) {
      // 1: basicConstraints CA:TRUE. The other non-zero answers are legacy guesses
      // (version 1 self-signed, Netscape types) that a CA made today never needs.
      if (X509_check_ca(authority.get()) != 1) {
        return absl::FailedPreconditionError(absl::StrCat(
            "--tls_client_ca_file ", files.client_ca_file, ": ", SubjectOf(authority.get()),
            " is not a CA certificate (no ", "basicConstraints CA:TRUE)"));
      }
    }
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> MakeTlsServerCredentials(const TlsFiles& files) {
  const auto refresh_seconds =
      static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(files.reload_interval)));
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (files.client_ca_file.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        files.key_file, files.cert_file, refresh_seconds);
  } else {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        files.key_file, files.cert_file, files.client_ca_file, refresh_seconds);
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (files.client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

bool IsLoopbackListenAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:") || absl::StartsWith(listen, "unix-abstract:")) {
    return true;
  }
  std::string host;
  if (absl::StartsWith(listen, "[")) {
    const size_t close = listen.find(']');
    if (close == std::string::npos) return false;
    host = listen.substr(1, close - 1);
  } else {
    const size_t colon = listen.rfind(':');
    host = listen.substr(0, colon == std::string::npos ? listen.size() : colon);
  }
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace coplan
