// coplan-bench: Coplan's performance against baselines measured on the same machine.
//
//   coplan-bench all [--duration=10s] [--concurrency=16] [--payload_bytes=2000]
//                    [--plans=100] [--watchers=1000] [--idle_watchers=10000]
//                    [--edit_rate=20] [--streams_per_channel=100]
//                    [--sync_devices=10000] [--cold_opens=50]
//                    [--server_binary=PATH] [--smoke]
//                    [--measures=echo,reads,edits,fanout,idle,sync,device]   (default: all)
//   coplan-bench echo-server --listen=127.0.0.1:0 [--first_message_bytes=2000]
//
// `all` builds a fresh system (bench/environment.h), runs every measure and prints one
// Markdown table. It exits 0 when everything ran, whether or not the targets were met
// (benchmarks are not timed tests), and non-zero when something failed to run, a call
// failed, or a watcher saw a gap or a duplicate.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/environment.h"
#include "bench/measures.h"
#include "bench/process.h"
#include "bench/report.h"

namespace coplan::bench {
namespace {

constexpr char kUsage[] =
    "usage: coplan-bench all [--duration=10s] [--concurrency=16] [--payload_bytes=2000]\n"
    "                        [--plans=100] [--watchers=1000] [--idle_watchers=10000]\n"
    "                        [--edit_rate=20] [--streams_per_channel=100]\n"
    "                        [--sync_devices=10000] [--cold_opens=50]\n"
    "                        [--server_binary=PATH] [--smoke]\n"
    "                        [--measures=echo,reads,edits,fanout,idle,sync,device]\n"
    "       coplan-bench echo-server [--listen=127.0.0.1:0] [--first_message_bytes=2000]\n";

void Progress(const std::string& message) {
  std::cerr << absl::FormatTime("%H:%M:%S ", absl::Now(), absl::LocalTimeZone()) << message
            << std::endl;
}

std::string DefaultServerBinary() {
  if (const char* env = std::getenv("COPLAN_SERVER_BINARY"); env != nullptr && *env != '\0')
    return env;
  const std::string self = SelfExecutable();
  const std::string dir = self.substr(0, self.rfind('/'));
  return dir + "/../server/coplan-server";
}

absl::Status ParseInt(absl::string_view value, int minimum, int* out) {
  if (!absl::SimpleAtoi(value, out) || *out < minimum) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a whole number >= ", minimum, ", got \"", value, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<Settings> ParseSettings(const std::vector<std::string>& args) {
  Settings settings;
  settings.server_binary = DefaultServerBinary();
  // --smoke first, so that explicit flags override its sizes in any order.
  for (const auto& arg : args) {
    if (arg == "--smoke") {
      settings.smoke = true;
      settings.duration = absl::Seconds(1);
      settings.concurrency = 2;
      settings.plans = 5;
      settings.watchers = 20;
      settings.idle_watchers = 100;
      settings.sync_devices = 100;
      settings.cold_opens = 5;
    }
  }
  for (const auto& arg : args) {
    if (arg == "--smoke") continue;
    const size_t equals = arg.find('=');
    if (!absl::StartsWith(arg, "--") || equals == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    const std::string name = arg.substr(2, equals - 2);
    const std::string value = arg.substr(equals + 1);
    absl::Status status;
    if (name == "duration") {
      int seconds = 0;
      if (absl::SimpleAtoi(value, &seconds)) {
        settings.duration = absl::Seconds(seconds);
      } else if (!absl::ParseDuration(value, &settings.duration)) {
        status = absl::InvalidArgumentError(absl::StrCat("bad duration \"", value, "\""));
      }
      if (status.ok() && settings.duration < absl::Milliseconds(100)) {
        status = absl::InvalidArgumentError("--duration must be at least 100ms");
      }
    } else if (name == "concurrency") {
      status = ParseInt(value, 1, &settings.concurrency);
    } else if (name == "payload_bytes") {
      status = ParseInt(value, 0, &settings.payload_bytes);
    } else if (name == "plans") {
      status = ParseInt(value, 1, &settings.plans);
    } else if (name == "watchers") {
      status = ParseInt(value, 0, &settings.watchers);
    } else if (name == "idle_watchers") {
      status = ParseInt(value, 0, &settings.idle_watchers);
    } else if (name == "sync_devices") {
      status = ParseInt(value, 0, &settings.sync_devices);
    } else if (name == "cold_opens") {
      status = ParseInt(value, 1, &settings.cold_opens);
    } else if (name == "streams_per_channel") {
      status = ParseInt(value, 1, &settings.streams_per_channel);
    } else if (name == "edit_rate") {
      if (!absl::SimpleAtod(value, &settings.edit_rate) || settings.edit_rate <= 0) {
        status = absl::InvalidArgumentError(absl::StrCat("bad --edit_rate \"", value, "\""));
      }
    } else if (name == "measures") {
      settings.measures.clear();
      for (absl::string_view measure : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        if (measure != "echo" && measure != "reads" && measure != "edits" && measure != "fanout" &&
            measure != "idle" && measure != "sync" && measure != "device") {
          return absl::InvalidArgumentError(absl::StrCat("unknown measure \"", measure, "\""));
        }
        settings.measures.insert(std::string(measure));
      }
    } else if (name == "server_binary") {
      settings.server_binary = value;
    } else {
      status = absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!status.ok()) return status;
  }
  return settings;
}

// Idle watchers and fan-out need a descriptor per connection on both sides; the servers
// inherit the raised limit.
void RaiseFileLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::string Ratio(double value) { return absl::StrFormat("%.2f", value); }
std::string Met(bool met) { return met ? "yes" : "no"; }

class Run {
 public:
  explicit Run(Settings settings) : settings_(std::move(settings)) {}

  int Main(const std::string& command_line) {
    Progress("setting up PostgreSQL and two coplan-server instances");
    BenchEnvironment::Options options;
    options.server_binary = settings_.server_binary;
    options.plans = settings_.plans;
    options.payload_bytes = settings_.payload_bytes;
    auto env = BenchEnvironment::Create(options);
    if (!env.ok()) {
      std::cerr << "coplan-bench: setup failed: " << env.status() << "\n";
      return 1;
    }
    env_ = env->get();

    const bool reads_run = settings_.Runs("reads") || settings_.Runs("echo");
    auto echo = Measure(
        absl::StrCat("echo baseline (", env_->plan_response_bytes(), "-byte payload)"), reads_run,
        [&] { return MeasureEcho(settings_, env_->work_dir(), env_->plan_response_bytes()); });
    auto reads =
        Measure("reads: GetPlan", reads_run, [&] { return MeasureReads(settings_, *env_); });
    auto edits = Measure("edits: EditDocument", settings_.Runs("edits"),
                         [&] { return MeasureEdits(settings_, *env_); });
    auto pgbench = Measure("edit baseline: pgbench -N", settings_.Runs("edits"),
                           [&] { return MeasurePgbench(settings_, *env_); });
    // Idle watchers before fan-out: instance b has then served nothing yet, so the growth
    // of its memory is the streams' alone.
    auto idle =
        Measure(absl::StrCat("idle watchers: ", settings_.idle_watchers, " streams on instance b"),
                settings_.Runs("idle"), [&] { return MeasureIdleWatchers(settings_, *env_); });
    auto sync =
        Measure(absl::StrCat("sync memory: ", settings_.sync_devices,
                             " devices following 3 documents each on instance b"),
                settings_.Runs("sync"), [&] { return MeasureSyncMemory(settings_, *env_); });
    auto device =
        Measure(absl::StrCat("device: ", settings_.cold_opens,
                             " cold opens offline, 100 queued batches drained"),
                settings_.Runs("device"), [&] { return MeasureDeviceCache(settings_, *env_); });
    auto fanout =
        Measure(absl::StrCat("fan-out: ", settings_.watchers, " watchers, ", settings_.edit_rate,
                             " edits/s"),
                settings_.Runs("fanout"), [&] { return MeasureFanout(settings_, *env_); });
    if (!env_->ServersRunning()) Fail("a coplan-server instance exited during the run");
    if (!failures_.empty()) std::cerr << env_->ServerLogTails();

    std::vector<ReportRow> rows;
    if (reads_run) rows.push_back(ReadRow(echo, reads));
    if (settings_.Runs("edits")) rows.push_back(EditRow(edits, pgbench));
    if (settings_.Runs("fanout")) rows.push_back(FanoutRow(fanout));
    if (settings_.Runs("idle")) rows.push_back(IdleRow(idle));
    if (settings_.Runs("sync")) rows.push_back(SyncRow(sync, idle));
    if (settings_.Runs("device")) {
      rows.push_back(ColdOpenRow(device));
      rows.push_back(DrainRow(device));
    }

    std::cout << "\n## Coplan benchmark, "
              << absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::Now(), absl::UTCTimeZone()) << "\n\n"
              << "Machine: " << DescribeMachine()
              << " (clients, both servers and PostgreSQL share it)\n"
              << "Settings: duration " << absl::FormatDuration(settings_.duration)
              << ", concurrency " << settings_.concurrency << ", payload "
              << settings_.payload_bytes << " B (GetPlan response " << env_->plan_response_bytes()
              << " B), plans " << settings_.plans << ", watchers " << settings_.watchers
              << ", idle watchers " << settings_.idle_watchers << ", sync devices "
              << settings_.sync_devices << ", cold opens " << settings_.cold_opens << ", edit rate "
              << settings_.edit_rate << "/s, streams per connection "
              << settings_.streams_per_channel
              << ", PostgreSQL durable (fsync, synchronous_commit on), 2 instances, db_pool_size 8"
              << (settings_.smoke ? ", smoke sizes" : "") << "\n\n"
              << FormatTable(rows) << "\n"
              << "Reproduce: " << command_line << "\n";
    for (const auto& note : notes_) std::cout << "- " << note << "\n";
    if (!failures_.empty()) {
      std::cout << "\nFAILED:\n";
      for (const auto& failure : failures_) std::cout << "- " << failure << "\n";
    }
    std::cout << std::flush;
    env->reset();  // stops the servers and PostgreSQL, removes the directory
    return failures_.empty() ? 0 : 1;
  }

 private:
  template <typename Fn>
  auto Measure(const std::string& name, bool selected, Fn fn) -> decltype(fn()) {
    if (!selected) return absl::CancelledError("not selected");
    Progress(name);
    if (Interrupted()) {
      Fail(absl::StrCat(name, ": interrupted"));
      return absl::CancelledError("interrupted");
    }
    auto result = fn();
    if (!result.ok()) Fail(absl::StrCat(name, ": ", result.status().ToString()));
    return result;
  }
  void Fail(const std::string& failure) { failures_.push_back(failure); }
  void CheckErrors(const std::string& name, const LoadResult& result) {
    if (result.errors > 0) {
      Fail(absl::StrCat(name, ": ", result.errors, " calls failed, first: ", result.first_error));
    }
  }

  ReportRow ReadRow(const absl::StatusOr<LoadResult>& echo,
                    const absl::StatusOr<LoadResult>& reads) {
    ReportRow row{"Read: GetPlan (authenticated, authorized, audited), QPS",
                  "not run",
                  "not run",
                  "—",
                  "≥ 0.6 × echo QPS",
                  "not run"};
    if (reads.ok()) {
      CheckErrors("reads", *reads);
      row.coplan = absl::StrCat(FormatRate(reads->rate()), " QPS; ", FormatLatency(reads->latency));
    }
    if (echo.ok()) {
      CheckErrors("echo", *echo);
      row.baseline = absl::StrCat("Echo (gRPC only): ", FormatRate(echo->rate()), " QPS; ",
                                  FormatLatency(echo->latency));
    }
    if (reads.ok() && echo.ok() && echo->rate() > 0) {
      const double ratio = reads->rate() / echo->rate();
      row.ratio = Ratio(ratio);
      row.met = Met(ratio >= 0.6);
    }
    return row;
  }

  ReportRow EditRow(const absl::StatusOr<LoadResult>& edits,
                    const absl::StatusOr<PgbenchResult>& pgbench) {
    ReportRow row{"Durable edit: EditDocument (1 op per batch), TPS",
                  "not run",
                  "not run",
                  "—",
                  "≥ 0.8 × pgbench TPS",
                  "not run"};
    if (edits.ok()) {
      CheckErrors("edits", *edits);
      row.coplan = absl::StrCat(FormatRate(edits->rate()), " TPS; ", FormatLatency(edits->latency));
    }
    if (pgbench.ok()) {
      row.baseline = absl::StrCat(pgbench->command, ": ", FormatRate(pgbench->tps), " TPS; ",
                                  FormatLatency(pgbench->latency));
    }
    if (edits.ok() && pgbench.ok() && pgbench->tps > 0) {
      const double ratio = edits->rate() / pgbench->tps;
      row.ratio = Ratio(ratio);
      row.met = Met(ratio >= 0.8);
    }
    return row;
  }

  ReportRow FanoutRow(const absl::StatusOr<FanoutResult>& fanout) {
    ReportRow row{absl::StrCat("Live fan-out: edit sent → change read, ", settings_.watchers,
                               " watchers on a and b"),
                  "not run",
                  "—",
                  "—",
                  "p99 ≤ 10 ms, no gaps or duplicates",
                  "not run"};
    if (!fanout.ok()) return row;
    const FanoutResult& f = *fanout;
    row.coplan = absl::StrFormat(
        "p99 %.2f ms; p50 %.2f ms, max %.2f ms over %d revisions × %d watchers (%d pairs); "
        "gaps %d, duplicates %d, missing %d; resumes while editing %d",
        f.latency.p99_ms, f.latency.p50_ms, f.latency.max_ms, f.revisions, f.watchers, f.deliveries,
        f.gaps, f.duplicates, f.missing, f.resumes_while_editing);
    const bool correct = f.gaps == 0 && f.duplicates == 0 && f.missing == 0;
    row.met = Met(correct && f.deliveries > 0 && f.latency.p99_ms <= 10.0);
    if (!correct)
      Fail(absl::StrCat("fan-out: ", f.gaps, " gaps, ", f.duplicates, " duplicates, ", f.missing,
                        " missing changes"));
    if (f.watchers < settings_.watchers) {
      Fail(absl::StrCat("fan-out: only ", f.watchers, " of ", settings_.watchers,
                        " watchers started"));
    }
    if (f.stream_failures > 0 || f.edit_errors > 0) {
      Fail(absl::StrCat("fan-out: ", f.stream_failures, " streams ended early, ", f.edit_errors,
                        " edits failed; first: ", f.first_failure));
    }
    if (f.revisions == 0) Fail("fan-out: no edit succeeded");
    notes_.push_back(absl::StrFormat(
        "Fan-out latency by the watcher's instance: a %s, b %s; the editor's EditDocument round "
        "trip (included in the latency): %s.",
        FormatLatency(f.latency_a), FormatLatency(f.latency_b), FormatLatency(f.edit_latency)));
    notes_.push_back(absl::StrFormat(
        "Fan-out: while the watchers joined, %d presence events were delivered and streams were "
        "ended and resumed %d times; while editing, %d presence events and %d resumes.%s",
        f.presence_while_joining, f.resumes_while_joining, f.presence_while_editing,
        f.resumes_while_editing,
        f.first_resume_reason.empty()
            ? ""
            : absl::StrCat(" First resume after: ", f.first_resume_reason)));
    return row;
  }

  ReportRow IdleRow(const absl::StatusOr<IdleResult>& idle) {
    ReportRow row{absl::StrCat("Idle watchers: server memory per open stream (",
                               settings_.idle_watchers, " on b)"),
                  "not run",
                  "—",
                  "—",
                  "≤ 16 KiB",
                  "not run"};
    if (!idle.ok()) return row;
    const IdleResult& i = *idle;
    row.coplan = absl::StrFormat("%.1f KiB (VmRSS %.1f → %.1f MiB; %.1f MiB after closing)",
                                 i.kib_per_stream(), i.rss_before_kib / 1024.0,
                                 i.rss_after_kib / 1024.0, i.rss_after_close_kib / 1024.0);
    row.baseline = absl::StrFormat("gRPC alone (echo-server holding %d streams): %.1f KiB",
                                   i.baseline_streams, i.baseline_kib_per_stream);
    if (i.baseline_kib_per_stream > 0) {
      row.ratio =
          absl::StrFormat("%.2f (Coplan ÷ gRPC)", i.kib_per_stream() / i.baseline_kib_per_stream);
    }
    row.met = Met(i.streams > 0 && i.kib_per_stream() <= 16.0);
    if (i.baseline_streams < settings_.idle_watchers) {
      Fail(absl::StrCat("idle watchers: only ", i.baseline_streams, " of ", settings_.idle_watchers,
                        " baseline streams opened on the echo server"));
    }
    if (i.streams < settings_.idle_watchers || i.stream_failures > 0) {
      Fail(absl::StrCat("idle watchers: ", i.streams, " of ", settings_.idle_watchers,
                        " streams got their snapshot, ", i.stream_failures,
                        " ended early; first: ", i.first_failure));
    }
    notes_.push_back(
        absl::StrFormat("Idle watchers: %d streams over %d connections joined in %.1f s (%d "
                        "presence events, %d resumes).",
                        i.streams, i.connections, i.seconds_to_open, i.presence_events, i.resumes));
    return row;
  }

  ReportRow SyncRow(const absl::StatusOr<SyncMemoryResult>& sync,
                    const absl::StatusOr<IdleResult>& idle) {
    ReportRow row{absl::StrCat("Sync stream: server memory per followed document (",
                               settings_.sync_devices, " devices × 3 on b)"),
                  "not run",
                  "—",
                  "—",
                  "≤ 2 KiB marginal",
                  "not run"};
    if (!sync.ok()) return row;
    const SyncMemoryResult& m = *sync;
    row.coplan = absl::StrFormat(
        "%.2f KiB per followed document (VmRSS %.1f MiB following none → %.1f MiB following "
        "%d); the stream itself %.1f KiB",
        m.kib_per_followed(), m.rss_none_kib / 1024.0, m.rss_following_kib / 1024.0, m.followed,
        m.kib_per_stream());
    if (idle.ok() && idle->baseline_kib_per_stream > 0) {
      row.baseline = absl::StrFormat("gRPC's own per-stream floor (echo-server): %.1f KiB",
                                     idle->baseline_kib_per_stream);
    }
    row.met = Met(m.followed > 0 && m.kib_per_followed() <= 2.0);
    const int expected = settings_.sync_devices * 3;
    if (m.devices < settings_.sync_devices || m.followed < expected || m.targets_ended > 0 ||
        m.stream_failures > 0) {
      Fail(absl::StrCat("sync memory: ", m.devices, " of ", settings_.sync_devices,
                        " streams held, ", m.followed, " of ", expected,
                        " targets had a snapshot, ", m.targets_ended, " ended (first code ",
                        m.first_ended_code, "), ", m.stream_failures,
                        " streams ended; first: ", m.first_failure));
    }
    notes_.push_back(absl::StrFormat(
        "Sync memory: %d streams over %d connections opened in %.1f s; %d targets started and "
        "had their snapshot in %.1f s (%d presence events).",
        m.devices, m.connections, m.seconds_to_open, m.targets_started, m.seconds_to_follow,
        m.presence_events));
    return row;
  }

  ReportRow ColdOpenRow(const absl::StatusOr<DeviceCacheResult>& device) {
    ReportRow row{"Cold open offline: process start → cached crisis plan in hand (SQLCipher)",
                  "not run",
                  "—",
                  "—",
                  "p99 ≤ 50 ms",
                  "not run"};
    if (!device.ok()) return row;
    row.coplan = absl::StrFormat(
        "p99 %.1f ms; p50 %.1f ms, max %.1f ms over %d processes (of which process start "
        "until main: p50 %.1f ms, p99 %.1f ms)",
        device->cold_open.p99_ms, device->cold_open.p50_ms, device->cold_open.max_ms,
        device->cold_open.count, device->process_start.p50_ms, device->process_start.p99_ms);
    row.met = Met(device->cold_open.count > 0 && device->cold_open.p99_ms <= 50.0);
    return row;
  }

  ReportRow DrainRow(const absl::StatusOr<DeviceCacheResult>& device) {
    ReportRow row{"Reconnect → 100 offline batches drained (open, sign-in kept, sent in order)",
                  "not run",
                  "—",
                  "—",
                  "≤ 2 s",
                  "not run"};
    if (!device.ok()) return row;
    const DeviceCacheResult& d = *device;
    row.coplan =
        absl::StrFormat("%.2f s (%d batches; server revision +%d; %d left queued)", d.drain_seconds,
                        d.batches_queued, d.revisions_added, d.batches_left);
    const bool exact = d.revisions_added == d.batches_queued && d.batches_left == 0;
    row.met = Met(exact && d.drain_seconds <= 2.0);
    if (!exact) {
      Fail(absl::StrCat("device drain: ", d.batches_queued,
                        " batches queued, the server's revision moved by ", d.revisions_added, ", ",
                        d.batches_left, " left queued"));
    }
    return row;
  }

  Settings settings_;
  BenchEnvironment* env_ = nullptr;
  std::vector<std::string> failures_;
  std::vector<std::string> notes_;
};

}  // namespace
}  // namespace coplan::bench

int main(int argc, char** argv) {
  using namespace coplan::bench;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "echo-server") {
    std::string listen = "127.0.0.1:0";
    int first_message_bytes = 2000;
    for (size_t i = 1; i < args.size(); ++i) {
      if (absl::StartsWith(args[i], "--listen=")) {
        listen = args[i].substr(9);
      } else if (absl::StartsWith(args[i], "--first_message_bytes=") &&
                 absl::SimpleAtoi(args[i].substr(22), &first_message_bytes) &&
                 first_message_bytes >= 0) {
      } else {
        std::cerr << kUsage;
        return 2;
      }
    }
    return RunEchoServer(listen, static_cast<size_t>(first_message_bytes));
  }
  if (args.empty() || args[0] != "all") {
    std::cerr << kUsage;
    return 2;
  }
  args.erase(args.begin());
  auto settings = ParseSettings(args);
  if (!settings.ok()) {
    std::cerr << "coplan-bench: " << settings.status().message() << "\n" << kUsage;
    return 2;
  }
  RaiseFileLimit();
  InstallInterruptHandler();
  std::vector<std::string> command = {SelfExecutable(), "all"};
  command.insert(command.end(), args.begin(), args.end());
  Run run(*std::move(settings));
  // Caught so that the stack unwinds: the environment's destructor stops the servers and
  // PostgreSQL and removes the temporary directory.
  try {
    return run.Main(absl::StrJoin(command, " "));
  } catch (const std::exception& error) {
    std::cerr << "coplan-bench: " << error.what() << "\n";
    return 1;
  }
}
