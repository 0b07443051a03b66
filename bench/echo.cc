// The gRPC-only baselines, served by `coplan-bench echo-server` in its own process
// (like coplan-server):
// - measure 1, the baseline for reads: EchoService.Echo answered inline on gRPC's
//   callback threads, driven by the same harness as the reads;
// - the baseline for idle watchers: any other method (the bench calls WatchDocument)
//   is held open by a generic callback handler after one snapshot-sized message, which
//   is what an idle stream costs gRPC alone.
#include <grpcpp/generic/async_generic_service.h>
#include <signal.h>

#include <atomic>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/measures.h"
#include "bench/process.h"
#include "coplan/bench/v1/echo.grpc.pb.h"
#include "coplan/v1/editing.pb.h"

namespace coplan::bench {
namespace {

constexpr char kEchoServingPrefix[] = "Echo is serving on ";

class EchoHandler final : public coplan::bench::v1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const coplan::bench::v1::EchoRequest* request,
                                 coplan::bench::v1::EchoResponse* response) override {
    response->set_payload(request->payload());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Answers a server-streaming call with one message, then holds it open until the client
// cancels: an idle watch stream as gRPC alone would keep it.
class HeldStream final : public grpc::ServerGenericBidiReactor {
 public:
  explicit HeldStream(const grpc::ByteBuffer& first) : first_(first) { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
      return;
    }
    StartWrite(&first_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
  }
  void OnCancel() override { FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }
  void OnDone() override { delete this; }

 private:
  void FinishOnce(const grpc::Status& status) {
    if (!finished_.exchange(true)) Finish(status);
  }

  grpc::ByteBuffer request_;
  grpc::ByteBuffer first_;  // shares the slices of the server's copy
  std::atomic<bool> finished_{false};
};

class HoldingService final : public grpc::CallbackGenericService {
 public:
  explicit HoldingService(size_t first_message_bytes) {
    // A WatchEvent snapshot of the given size, so the client parses it as Coplan's.
    coplan::v1::WatchEvent event;
    auto* plan = event.mutable_snapshot()->mutable_plan();
    plan->set_revision(1);
    plan->set_title(std::string(first_message_bytes, 'x'));
    const std::string bytes = event.SerializeAsString();
    grpc::Slice slice(bytes);
    first_ = grpc::ByteBuffer(&slice, 1);
  }
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new HeldStream(first_);
  }

 private:
  grpc::ByteBuffer first_;
};

}  // namespace

int RunEchoServer(const std::string& listen, size_t first_message_bytes) {
  // As coplan-server does: the main thread alone takes SIGTERM/SIGINT, with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  EchoHandler handler;
  HoldingService holding(first_message_bytes);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  // As coplan-server's, so that connections are kept the same way.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.RegisterService(&handler);
  builder.RegisterCallbackGenericService(&holding);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "coplan-bench echo-server: cannot listen on " << listen << "\n";
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::cout << kEchoServingPrefix << host << ":" << port << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

absl::StatusOr<EchoServer> StartEchoServer(const std::string& work_dir,
                                           size_t first_message_bytes) {
  static int started = 0;
  const std::string name = absl::StrCat(work_dir, "/echo-", ++started);
  Subprocess::Options options;
  options.argv = {SelfExecutable(), "echo-server", "--listen=127.0.0.1:0",
                  absl::StrCat("--first_message_bytes=", first_message_bytes)};
  options.stdout_file = name + ".out";
  options.stderr_file = name + ".log";
  EchoServer server;
  auto process = StartChild(options);
  if (!process.ok()) return process.status();
  server.process = std::move(process).value();
  auto target = server.process->WaitForLine(kEchoServingPrefix, absl::Seconds(30));
  if (!target.ok()) return target.status();
  server.target = *target;
  return server;
}

absl::StatusOr<LoadResult> MeasureEcho(const Settings& settings, const std::string& work_dir,
                                       size_t payload_bytes) {
  auto server = StartEchoServer(work_dir, payload_bytes);
  if (!server.ok()) return server.status();
  const std::string target = server->target;

  const std::string payload(payload_bytes, 'x');
  auto result = RunClosedLoop(
      settings.concurrency, std::min(absl::Seconds(1), settings.duration / 5), settings.duration,
      [&](int index) -> absl::StatusOr<Call> {
        auto channel = NewDedicatedChannel(target, index);
        if (!WaitConnected(channel, absl::Seconds(10))) {
          return absl::UnavailableError("cannot connect to the server");
        }
        std::shared_ptr<coplan::bench::v1::EchoService::Stub> stub =
            coplan::bench::v1::EchoService::NewStub(channel);
        auto request = std::make_shared<coplan::bench::v1::EchoRequest>();
        request->set_payload(payload);
        return Call([stub, request]() -> absl::Status {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          coplan::bench::v1::EchoResponse response;
          grpc::Status status = stub->Echo(&context, *request, &response);
          if (!status.ok()) {
            return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                status.error_message());
          }
          return absl::OkStatus();
        });
      });
  server->process->Terminate(absl::Seconds(5));
  return result;
}

}  // namespace coplan::bench
