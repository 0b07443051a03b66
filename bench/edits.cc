// Measure 3: durable edits. Each client edits its own plan (so batches never conflict),
// one small operation per batch, based on the revision its previous batch produced,
// with a fresh idempotency key. The baseline is pgbench -N (pgbench.cc).
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/edit_ops.h"
#include "bench/measures.h"

namespace coplan::bench {
namespace {

struct EditorState {
  std::shared_ptr<v1::EditingService::Stub> stub;
  std::string plan;
  std::string item_id;
  int64_t revision = 0;
  int64_t batch = 0;
  int worker = 0;
  std::string key_prefix;
};

}  // namespace

absl::StatusOr<LoadResult> MeasureEdits(const Settings& settings, const BenchEnvironment& env) {
  const std::string bearer = "Bearer " + env.token();
  const std::vector<std::string>& plans = env.plans();
  const std::vector<std::string>& items = env.item_ids();
  std::random_device device;
  return RunClosedLoop(
      settings.concurrency, std::min(absl::Seconds(1), settings.duration / 5), settings.duration,
      [&](int index) -> absl::StatusOr<Call> {
        auto state = std::make_shared<EditorState>();
        state->worker = index;
        state->plan = plans[index % plans.size()];
        // With more clients than plans, clients sharing a plan edit different items
        // (batches on different paths merge) and only one of them edits the title.
        const size_t sharer = index / plans.size();
        state->item_id = items[sharer % items.size()];
        state->key_prefix = absl::StrFormat("bench-%08x-%d-", device(), index);
        auto revision = env.CurrentRevision(state->plan);
        if (!revision.ok()) return revision.status();
        state->revision = *revision;
        auto channel = NewDedicatedChannel(env.target_a(), 1000 + index);
        if (!WaitConnected(channel, absl::Seconds(10))) {
          return absl::UnavailableError("cannot connect to the server");
        }
        state->stub = v1::EditingService::NewStub(channel);
        return Call([state, bearer, sharer]() -> absl::Status {
          v1::EditDocumentRequest request;
          request.set_name(state->plan);
          request.set_base_revision(state->revision);
          // Sharers other than the first always edit their item, never the title.
          const int64_t batch = state->batch++;
          *request.add_operations() =
              SmallEdit(state->worker, sharer == 0 ? batch : 2 * batch, state->item_id);
          request.set_idempotency_key(absl::StrCat(state->key_prefix, batch));
          grpc::ClientContext context;
          context.AddMetadata("authorization", bearer);
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          v1::EditDocumentResponse response;
          grpc::Status status = state->stub->EditDocument(&context, request, &response);
          if (!status.ok()) {
            return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                status.error_message());
          }
          state->revision = response.revision();
          return absl::OkStatus();
        });
      });
}

}  // namespace coplan::bench
