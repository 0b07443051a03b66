// The device's connection to the server: one gRPC channel, unary calls on gRPC's callback
// API (no thread waits for an answer), and the stub of the device's sync stream.
//
// Calls are sent as serialized protobuf (a generic stub), so that the app can call any
// method by name and the core adds nothing per method. Answers arrive on gRPC's own
// threads: the caller moves them onto its work queue.
//
//   ServerConnection connection({.target = "coplan.example.nhs.uk:443", .tls = true});
//   connection.Call("/coplan.v1.PlanService/GetPlan", bytes, "Bearer ...",
//                   absl::Seconds(10), [](absl::StatusOr<std::string> answer) { ... });
//   connection.CancelAll();   // on close: every call ends with CANCELLED
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coplan/v1/sync_service.grpc.pb.h"

namespace coplan::client::remote {

struct ConnectionOptions {
  std::string target;
  // TLS with these roots (PEM; empty: the system's) when true; plaintext otherwise.
  bool tls = false;
  std::string root_certificates;
  // Mutual TLS (a service calling a server that asks for client certificates): this
  // client's certificate chain and its private key, PEM. Empty: no client certificate.
  std::string client_certificate_chain;
  std::string client_private_key;
  // For the server's logs, e.g. "coplan-android/1.2".
  std::string user_agent;
};

class ServerConnection {
 public:
  using Done = std::function<void(absl::StatusOr<std::string>)>;

  explicit ServerConnection(const ConnectionOptions& options);
  // CancelAll(), then waits for the calls to end.
  ~ServerConnection();

  // One unary call; `done` runs once, on a gRPC thread. `method` is "/package.Service/Method".
  void Call(const std::string& method, const std::string& request, const std::string& authorization,
            absl::Duration deadline, Done done);
  // Ends every call in flight (they finish with CANCELLED) and refuses new ones.
  void CancelAll();
  // Waits until no call is in flight (after CancelAll), up to `timeout`.
  bool WaitForCalls(absl::Duration timeout);

  coplan::v1::SyncService::Stub& sync_stub() { return *sync_stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  struct InFlight;
  void Finished(std::shared_ptr<InFlight> call);

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub generic_;
  std::unique_ptr<coplan::v1::SyncService::Stub> sync_stub_;

  absl::Mutex mutex_;
  std::set<std::shared_ptr<InFlight>> in_flight_ ABSL_GUARDED_BY(mutex_);
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  // Calls started and not yet released (their context destroyed): in_flight_ plus those
  // whose answer is being delivered.
  int unfinished_ ABSL_GUARDED_BY(mutex_) = 0;
};

// A channel to `options.target` with the device's settings: keepalive pings every 30 s
// while a call is open, so that a dead sync stream is noticed quickly.
std::shared_ptr<grpc::Channel> MakeDeviceChannel(const ConnectionOptions& options);

}  // namespace coplan::client::remote
