#include "remote/server_connection.h"

#include <grpc/grpc.h>

#include <chrono>
#include <utility>

#include "absl/time/clock.h"
#include "remote/grpc_status.h"

namespace coplan::client::remote {
namespace {

// gRPC stays initialised for the rest of the process once a device channel has existed.
// Otherwise freeing the last client shuts gRPC down, on a detached thread of gRPC's own when
// the last reference to a channel or call goes on one of its threads, while the app's next
// client (after a sign-out, or a test opening clients one after another) initialises it again:
// gRPC 1.51 has races on that path that abort the process ("assertion failed: prior > 0").
//
// For the same reason one channel is never freed, with one callback-API call made on it.
// gRPC 1.51 on Linux and Android runs callback calls on one process-wide completion queue
// with threads of its own, which the first channel to make such a call creates and the
// destructor of the last such channel joins and frees. That destructor often runs on one of
// those threads: a call's context holds a reference to its channel, and the sync stream is
// freed when its call is done. The thread then joins itself, frees the queue it is still
// reading and dies of a double free (ASan caught it in coplan-bench, closing one device while
// the next opened). Held by this channel, the queue and its two threads stay for the life of
// the process; with no client open they sit idle.
struct CallbackQueueHolder {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
};

void KeepGrpcRunning() {
  // Reachable from this static for the life of the process, so not reported as a leak.
  static CallbackQueueHolder* const holder = [] {
    grpc_init();
    auto* held = new CallbackQueueHolder;
    // Nothing listens there, and the deadline has passed: the call ends at once, without
    // touching the network. Creating it is what takes the reference on the queue.
    held->channel = grpc::CreateChannel("unix:/nonexistent/coplan-callback-queue",
                                        grpc::InsecureChannelCredentials());
    held->stub = std::make_unique<grpc::GenericStub>(held->channel);
    held->context.set_deadline(std::chrono::system_clock::now());
    grpc::Slice empty;
    held->request = grpc::ByteBuffer(&empty, 1);
    held->stub->UnaryCall(&held->context, "/coplan.v1.HoldCallbackQueue/Hold", grpc::StubOptions(),
                          &held->request, &held->response, [](const grpc::Status&) {});
    return held;
  }();
  (void)holder;
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeDeviceChannel(const ConnectionOptions& options) {
  KeepGrpcRunning();
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  // Reconnect soon after the network comes back (gRPC's default waits up to two minutes).
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 250);
  arguments.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  if (!options.user_agent.empty()) arguments.SetUserAgentPrefix(options.user_agent);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.root_certificates;
    ssl.pem_cert_chain = options.client_certificate_chain;
    ssl.pem_private_key = options.client_private_key;
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(options.target, credentials, arguments);
}

struct ServerConnection::InFlight {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  Done done;
};

ServerConnection::ServerConnection(const ConnectionOptions& options)
    : channel_(MakeDeviceChannel(options)),
      generic_(channel_),
      sync_stub_(coplan::v1::SyncService::NewStub(channel_)) {}

ServerConnection::~ServerConnection() {
  CancelAll();
  WaitForCalls(absl::Seconds(10));
}

void ServerConnection::Call(const std::string& method, const std::string& request,
                            const std::string& authorization, absl::Duration deadline, Done done) {
  auto call = std::make_shared<InFlight>();
  {
    absl::MutexLock lock(&mutex_);
    if (!cancelled_) {
      in_flight_.insert(call);
      ++unfinished_;
    }
  }
  if (call.use_count() == 1) {
    done(absl::CancelledError("the client is closed"));
    return;
  }
  call->done = std::move(done);
  if (!authorization.empty()) call->context.AddMetadata("authorization", authorization);
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::Slice slice(request);
  call->request = grpc::ByteBuffer(&slice, 1);
  InFlight* const started = call.get();
  generic_.UnaryCall(&started->context, method, grpc::StubOptions(), &started->request,
                     &started->response,
                     [this, call = std::move(call)](grpc::Status status) mutable {
                       absl::StatusOr<std::string> answer;
                       if (status.ok()) {
                         std::vector<grpc::Slice> slices;
                         std::string bytes;
                         if (call->response.Dump(&slices).ok()) {
                           for (const auto& part : slices) {
                             bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
                           }
                         }
                         answer = std::move(bytes);
                       } else {
                         answer = FromGrpcStatus(status);
                       }
                       {
                         // Released here: what the caller's callback holds (an app's context)
                         // goes before the call counts as finished.
                         Done done = std::move(call->done);
                         done(std::move(answer));
                       }
                       Finished(std::move(call));
                     });
}

void ServerConnection::Finished(std::shared_ptr<InFlight> call) {
  {
    absl::MutexLock lock(&mutex_);
    in_flight_.erase(call);
  }
  // The call's context (and its reference to the channel) goes before WaitForCalls can
  // return, so that nothing of this connection outlives it on gRPC's thread.
  call.reset();
  absl::MutexLock lock(&mutex_);
  --unfinished_;
}

void ServerConnection::CancelAll() {
  std::set<std::shared_ptr<InFlight>> calls;
  {
    absl::MutexLock lock(&mutex_);
    cancelled_ = true;
    calls = in_flight_;
  }
  // Outside the lock: gRPC may finish a call inline in TryCancel.
  for (const auto& call : calls) call->context.TryCancel();
}

bool ServerConnection::WaitForCalls(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return unfinished_ == 0; };
  return mutex_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

}  // namespace coplan::client::remote
