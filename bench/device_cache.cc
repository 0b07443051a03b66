// Measures 6 and 7: the phone's side, on the client core (client-lib) and its encrypted
// cache, against the benchmark's real servers.
//
// Cold open: a device that followed its crisis plan is started again with the server
// unreachable (a lift, a basement). The time from the parent's fork of a fresh process
// to the plan in that process's hand: exec, loading, opening the SQLCipher cache with its
// key, reading the plan. The child processes (coplan-cold-open, bench/cold_open_main.cc:
// the client core alone, as an app links it) run one at a time; each reports its own
// time against the parent's CLOCK_MONOTONIC stamp.
//
// Drain: 100 edits queued offline (each its own batch, durably), the client closed; then
// a client opened on the same cache with the server reachable, timed until Flush says
// every batch is accepted. The server's revision must have moved by exactly 100.

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/device_client.h"
#include "bench/edit_ops.h"
#include "bench/measures.h"

namespace coplan::bench {
namespace {

constexpr int kQueuedBatches = 100;

// Signs a device in, follows `document` until the copy is live, and closes it: the cache
// then holds the session and the plan.
absl::Status PrepareDevice(const BenchEnvironment& env, const ClientOptions& options,
                           const std::string& document) {
  auto client = CoplanClient::Open(options);
  if (!client.ok()) return client.status();
  Answer<cv1::SessionState> session;
  (*client)->SignIn(env.username(), env.user_password(), session.callback());
  if (auto state = session.Get(); !state.ok()) return state.status();
  (*client)->Follow(document, [](const cv1::DocumentEvent&) {});
  auto flushed =
      AwaitStatus([&](auto done) { (*client)->Flush(absl::Seconds(30), done); }, absl::Seconds(40));
  if (!flushed.ok()) return flushed;
  Answer<cv1::CachedDocument> copy;
  (*client)->GetDocument(document, copy.callback());
  auto cached = copy.Get();
  if (!cached.ok()) return cached.status();
  if (!cached->live()) return absl::InternalError("the followed plan never became live");
  (*client)->Close();
  return absl::OkStatus();
}

std::string RandomKey() {
  std::string key(32, '\0');
  std::ifstream random("/dev/urandom", std::ios::binary);
  random.read(key.data(), static_cast<std::streamsize>(key.size()));
  return key;
}

absl::Status WriteKeyFile(const std::string& path, const std::string& key) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(key.data(), static_cast<std::streamsize>(key.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// The number after `label` in a child's output.
bool PrintedNumber(const std::string& printed, const std::string& label, int64_t* value) {
  const size_t at = printed.find(label);
  if (at == std::string::npos) return false;
  const size_t from = at + label.size();
  return absl::SimpleAtoi(printed.substr(from, printed.find('\n', from) - from), value);
}

}  // namespace

std::string ColdOpenBinary() {
  const std::string self = SelfExecutable();
  return self.substr(0, self.rfind('/')) + "/coplan-cold-open";
}

absl::StatusOr<DeviceCacheResult> MeasureDeviceCache(const Settings& settings,
                                                     const BenchEnvironment& env) {
  DeviceCacheResult result;
  const std::string document = env.plans().front();
  const std::string cache_path = env.work_dir() + "/device.cache";
  const std::string key_file = env.work_dir() + "/device.key";
  const std::string key = RandomKey();
  if (auto written = WriteKeyFile(key_file, key); !written.ok()) return written;
  if (auto prepared = PrepareDevice(env, DeviceOptions(env.target_a(), cache_path, key), document);
      !prepared.ok()) {
    return absl::Status(prepared.code(),
                        absl::StrCat("preparing the device: ", prepared.message()));
  }

  // Cold opens, one process at a time.
  std::vector<int64_t> open_nanos, start_nanos;
  const std::string output = env.work_dir() + "/cold-open.out";
  for (int i = 0; i < settings.cold_opens && !Interrupted(); ++i) {
    std::remove(output.c_str());
    const int64_t spawned = MonotonicNanos();
    auto child = StartChild(
        {.argv = {ColdOpenBinary(), absl::StrCat("--cache_path=", cache_path),
                  absl::StrCat("--key_file=", key_file), absl::StrCat("--document=", document),
                  absl::StrCat("--spawned_ns=", spawned)},
         .stdout_file = output,
         .stderr_file = output});
    if (!child.ok()) return child.status();
    auto code = (*child)->Wait(absl::Seconds(60));
    const std::string printed = ReadFileOrEmpty(output);
    int64_t in_hand = 0, started = 0;
    if (!code.ok() || *code != 0 || !PrintedNumber(printed, "in_hand_ns=", &in_hand) ||
        !PrintedNumber(printed, "started_ns=", &started)) {
      return absl::InternalError(absl::StrCat("cold open ", i, " failed: ", printed));
    }
    open_nanos.push_back(in_hand);
    start_nanos.push_back(started);
  }
  result.cold_open = Summarize(open_nanos);
  result.process_start = Summarize(start_nanos);

  // 100 batches queued offline, then drained.
  auto before = env.CurrentRevision(document);
  if (!before.ok()) return before.status();
  {
    auto offline = CoplanClient::Open(DeviceOptions(kUnreachableServer, cache_path, key));
    if (!offline.ok()) return offline.status();
    for (int batch = 0; batch < kQueuedBatches; ++batch) {
      cv1::EditRequest request;
      request.set_document(document);
      *request.add_operations() = SmallEdit(0, batch, env.item_ids().front());
      Answer<cv1::EditQueued> queued;
      (*offline)->Edit(request, queued.callback());
      if (auto taken = queued.Get(); !taken.ok()) {
        return absl::Status(taken.status().code(), absl::StrCat("queueing offline edit ", batch,
                                                                ": ", taken.status().message()));
      }
    }
    (*offline)->Close();
  }
  const absl::Time reconnect = absl::Now();
  auto online = CoplanClient::Open(DeviceOptions(env.target_a(), cache_path, key));
  if (!online.ok()) return online.status();
  auto drained =
      AwaitStatus([&](auto done) { (*online)->Flush(absl::Seconds(60), done); }, absl::Seconds(70));
  result.drain_seconds = absl::ToDoubleSeconds(absl::Now() - reconnect);
  if (!drained.ok())
    return absl::Status(drained.code(), absl::StrCat("drain: ", drained.message()));
  Answer<cv1::PendingState> pending;
  (*online)->GetPendingState(pending.callback());
  auto state = pending.Get();
  if (!state.ok()) return state.status();
  result.batches_left = state->batches_size();
  (*online)->Close();
  auto after = env.CurrentRevision(document);
  if (!after.ok()) return after.status();
  result.batches_queued = kQueuedBatches;
  result.revisions_added = *after - *before;
  return result;
}

}  // namespace coplan::bench
