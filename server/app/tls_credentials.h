// Transport security of the gRPC port: TLS (1.2 or 1.3, gRPC's ECDHE + AEAD cipher list),
// optionally mutual TLS, certificates reloaded when their files change, and the rule that
// plaintext is served on loopback only unless the operator says otherwise.
//
//   TlsFiles files{.cert_file = "/etc/coplan/tls/server.crt", .key_file = ".../server.key",
//                  .client_ca_file = ".../clients-ca.crt"};   // client_ca_file: mTLS
//   COPLAN_RETURN_IF_ERROR(CheckTlsFiles(files));   // refuse to start on a bad file
//   builder.AddListeningPort(listen, MakeTlsServerCredentials(files), &port);
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace coplan {

struct TlsFiles {
  std::string cert_file;  // PEM chain, the server's own certificate first
  std::string key_file;   // PEM private key of that certificate
  // PEM certificates of the CAs whose client certificates are accepted; when set, every
  // connection must present one (mutual TLS). Empty: clients are not asked for one.
  std::string client_ca_file;
  // How often the files are looked at again; a changed pair is served to new connections.
  absl::Duration reload_interval = absl::Minutes(1);
};

// Reads the files as the server will serve them and says what is wrong, naming the flag
// and the file: unreadable, no PEM certificate or key in it, a key that does not belong to
// the certificate, a client CA file holding a certificate that is not a CA. The files are
// read again on every reload, but this check runs at start only: gRPC logs a replacement
// it cannot use, so replace them whole (write aside, then rename into place).
absl::Status CheckTlsFiles(const TlsFiles& files);

// Credentials that watch the files (gRPC's FileWatcherCertificateProvider). TLS 1.2 is
// the oldest version gRPC negotiates and 1.3 is preferred; the cipher list is gRPC's own
// (ECDHE key exchange, AEAD ciphers only), which GRPC_SSL_CIPHER_SUITES would override.
std::shared_ptr<grpc::ServerCredentials> MakeTlsServerCredentials(const TlsFiles& files);

// True when `listen` ("host:port", "[v6]:port" or "unix:path") reaches this machine only:
// localhost, 127.0.0.0/8, ::1, or a Unix socket. An empty host or 0.0.0.0 or [::] (every
// interface) and any other address are not loopback.
bool IsLoopbackListenAddress(const std::string& listen);

}  // namespace coplan
