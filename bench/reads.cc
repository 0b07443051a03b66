// Measure 2: GetPlan as a signed-in person reads their own plans. Every call is
// authenticated (bearer token), authorized (relationship to the plan's person) and
// audited (a row in the audit trail), which is what separates it from the echo.
#include <random>

#include "bench/measures.h"

namespace coplan::bench {

absl::StatusOr<LoadResult> MeasureReads(const Settings& settings, const BenchEnvironment& env) {
  const std::string bearer = "Bearer " + env.token();
  const std::vector<std::string>& plans = env.plans();
  return RunClosedLoop(
      settings.concurrency, std::min(absl::Seconds(1), settings.duration / 5), settings.duration,
      [&](int index) -> absl::StatusOr<Call> {
        auto channel = NewDedicatedChannel(env.target_a(), index);
        if (!WaitConnected(channel, absl::Seconds(10))) {
          return absl::UnavailableError("cannot connect to the server");
        }
        std::shared_ptr<v1::PlanService::Stub> stub = v1::PlanService::NewStub(channel);
        auto random = std::make_shared<std::mt19937>(index + 1);
        return Call([stub, random, bearer, &plans]() -> absl::Status {
          v1::GetPlanRequest request;
          request.set_name(plans[(*random)() % plans.size()]);
          grpc::ClientContext context;
          context.AddMetadata("authorization", bearer);
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          v1::Plan plan;
          grpc::Status status = stub->GetPlan(&context, request, &plan);
          if (!status.ok()) {
            return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                status.error_message());
          }
          return absl::OkStatus();
        });
      });
}

}  // namespace coplan::bench
