// The baseline of measure 3: what the same PostgreSQL cluster commits durably per second
// with pgbench's simple-update script (-N: one UPDATE, one SELECT, one INSERT per
// transaction), with as many clients as the edit benchmark. pgbench runs on its own
// database so that it shares nothing with Coplan's but the cluster (and its WAL).
#include <filesystem>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/measures.h"
#include "bench/process.h"

namespace coplan::bench {
namespace {

constexpr char kDatabase[] = "pgbench";

absl::Status RunToCompletion(const std::vector<std::string>& argv, const std::string& out,
                             const std::string& err, absl::Duration timeout) {
  Subprocess::Options options;
  options.argv = argv;
  options.stdout_file = out;
  options.stderr_file = err;
  auto process = StartChild(options);
  if (!process.ok()) return process.status();
  auto exit_code = (*process)->Wait(timeout);
  if (!exit_code.ok()) return exit_code.status();
  if (*exit_code != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), " failed (exit ", *exit_code,
                                            "):\n", TailOfFile(err)));
  }
  return absl::OkStatus();
}

// pgbench's per-transaction log lines: "client transaction latency_us script epoch us".
std::vector<int64_t> ReadTransactionLatencies(const std::string& dir, const std::string& prefix) {
  std::vector<int64_t> nanos;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!absl::StartsWith(entry.path().filename().string(), prefix)) continue;
    for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(entry.path()), '\n')) {
      std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      int64_t micros = 0;
      if (fields.size() >= 3 && absl::SimpleAtoi(fields[2], &micros))
        nanos.push_back(micros * 1000);
    }
  }
  return nanos;
}

}  // namespace

absl::StatusOr<PgbenchResult> MeasurePgbench(const Settings& settings,
                                             const BenchEnvironment& env) {
  EmbeddedPostgres& pg = env.postgres();
  try {
    pqxx::connection conn(pg.ConnectionString("postgres"));
    pqxx::nontransaction tx(conn);
    tx.exec(absl::StrCat("CREATE DATABASE ", kDatabase));
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("creating the pgbench database: ", error.what()));
  }
  const std::string pgbench = pg.bin_dir() + "/pgbench";
  const std::vector<std::string> connection = {"-h", pg.socket_dir(), "-U",
                                               EmbeddedPostgres::kSuperuser};

  PgbenchResult result;
  // -N touches one random row of pgbench_accounts (100,000 rows per scale unit) per
  // transaction, so the scale hardly matters for contention; it is kept modest so that
  // initialising stays quick.
  result.scale = std::clamp(settings.concurrency, 1, 10);
  std::vector<std::string> init = {pgbench, "-i", "-q", "-s", absl::StrCat(result.scale)};
  init.insert(init.end(), connection.begin(), connection.end());
  init.push_back(kDatabase);
  if (auto status = RunToCompletion(init, env.work_dir() + "/pgbench-init.out",
                                    env.work_dir() + "/pgbench-init.err", absl::Minutes(10));
      !status.ok()) {
    return status;
  }

  const int clients = std::max(1, settings.concurrency);
  const int seconds = std::max<int>(1, static_cast<int>(absl::ToInt64Seconds(settings.duration)));
  const std::string log_dir = env.work_dir() + "/pgbench-log";
  std::filesystem::create_directories(log_dir);
  std::vector<std::string> run = {pgbench, "-N",
                                  "-c",    absl::StrCat(clients),
                                  "-j",    absl::StrCat(std::min(2, clients)),
                                  "-T",    absl::StrCat(seconds),
                                  "-l",    "--log-prefix=" + log_dir + "/tx"};
  run.insert(run.end(), connection.begin(), connection.end());
  run.push_back(kDatabase);
  result.command = absl::StrCat("pgbench -N -c ", clients, " -j ", std::min(2, clients), " -T ",
                                seconds, " (scale ", result.scale, ")");
  const std::string out = env.work_dir() + "/pgbench.out";
  if (auto status = RunToCompletion(run, out, env.work_dir() + "/pgbench.err",
                                    absl::Seconds(seconds) + absl::Minutes(2));
      !status.ok()) {
    return status;
  }
  for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(out), '\n')) {
    if (!absl::ConsumePrefix(&line, "tps = ")) continue;
    const size_t space = line.find(' ');
    if (absl::SimpleAtod(line.substr(0, space), &result.tps)) break;
  }
  if (result.tps <= 0) {
    return absl::InternalError(
        absl::StrCat("no \"tps = \" in pgbench's output:\n", TailOfFile(out)));
  }
  std::vector<int64_t> latencies = ReadTransactionLatencies(log_dir, "tx");
  result.latency = Summarize(latencies);
  return result;
}

}  // namespace coplan::bench
