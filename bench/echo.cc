// Measure 1, the baseline for reads: what gRPC alone costs on this machine. The echo
// server runs in its own process (like coplan-server) and answers inline on gRPC's
// callback threads; the client is the same harness as the reads'.
#include <signal.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "bench/measures.h"
#include "bench/process.h"
#include "coplan/bench/v1/echo.grpc.pb.h"

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

}  // namespace

int RunEchoServer(const std::string& listen) {
  // As coplan-server does: the main thread alone takes SIGTERM/SIGINT, with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  EchoHandler handler;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  builder.RegisterService(&handler);
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

absl::StatusOr<LoadResult> MeasureEcho(const Settings& settings, const std::string& work_dir,
                                       size_t payload_bytes) {
  Subprocess::Options options;
  options.argv = {SelfExecutable(), "echo-server", "--listen=127.0.0.1:0"};
  options.stdout_file = work_dir + "/echo.out";
  options.stderr_file = work_dir + "/echo.log";
  auto server = Subprocess::Start(options);
  if (!server.ok()) return server.status();
  auto target = (*server)->WaitForLine(kEchoServingPrefix, absl::Seconds(30));
  if (!target.ok()) return target.status();

  const std::string payload(payload_bytes, 'x');
  LoadResult result = RunClosedLoop(
      settings.concurrency, std::min(absl::Seconds(1), settings.duration / 5), settings.duration,
      [&](int index) -> Call {
        auto channel = NewDedicatedChannel(*target, index);
        WaitConnected(channel, absl::Seconds(10));
        std::shared_ptr<coplan::bench::v1::EchoService::Stub> stub =
            coplan::bench::v1::EchoService::NewStub(channel);
        auto request = std::make_shared<coplan::bench::v1::EchoRequest>();
        request->set_payload(payload);
        return [stub, request]() -> absl::Status {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          coplan::bench::v1::EchoResponse response;
          grpc::Status status = stub->Echo(&context, *request, &response);
          if (!status.ok()) {
            return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                status.error_message());
          }
          return absl::OkStatus();
        };
      });
  (*server)->Terminate(absl::Seconds(5));
  return result;
}

}  // namespace coplan::bench
