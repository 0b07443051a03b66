#include "server/embedded/embedded_postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/subprocess.h"

namespace coplan {
namespace fs = std::filesystem;
namespace {

std::string FindBinDir() {
  // The newest installed major version.
  std::string best;
  int best_version = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int version = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &version)) continue;
    if (version > best_version && fs::exists(entry.path() / "bin" / "pg_ctl")) {
      best_version = version;
      best = (entry.path() / "bin").string();
    }
  }
  return best;
}

std::string Tail(const std::string& path, size_t max_bytes = 1500) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > max_bytes) text = text.substr(text.size() - max_bytes);
  return text;
}

absl::Status Chown(const std::string& path, int uid, int gid) {
  if (::chown(path.c_str(), uid, gid) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot give ", path, " to the database account: ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> EmbeddedPostgres::Start(const Options& options) {
  std::unique_ptr<EmbeddedPostgres> pg(new EmbeddedPostgres(options));
  if (auto status = pg->Prepare(); !status.ok()) return status;
  if (!fs::exists(fs::path(pg->pgdata_) / "PG_VERSION")) {
    if (auto status = pg->InitCluster(); !status.ok()) return status;
  }
  if (auto status = pg->StartServer(); !status.ok()) return status;
  if (auto status = pg->EnsureDatabase(); !status.ok()) {
    pg->Stop().IgnoreError();
    return status;
  }
  return pg;
}

EmbeddedPostgres::~EmbeddedPostgres() {
  auto status = Stop();
  if (!status.ok()) Log(LogLevel::kError, "embedded_postgres_stop_failed");
}

std::string EmbeddedPostgres::ConnectionString() const {
  return ConnectionString(options_.database);
}

std::string EmbeddedPostgres::ConnectionString(const std::string& database) const {
  return absl::StrCat("host=", socket_dir_, " dbname=", database, " user=", kSuperuser);
}

std::string EmbeddedPostgres::ServerConnectionString() const {
  return ServerConnectionString(options_.database);
}

std::string EmbeddedPostgres::ServerConnectionString(const std::string& database) const {
  return absl::StrCat("host=", socket_dir_, " dbname=", database, " user=", kServerLogin);
}

absl::Status EmbeddedPostgres::Prepare() {
  if (options_.data_dir.empty()) return absl::InvalidArgumentError("data directory is empty");
  bin_dir_ = options_.bin_dir.empty() ? FindBinDir() : options_.bin_dir;
  if (bin_dir_.empty() || !fs::exists(fs::path(bin_dir_) / "pg_ctl")) {
    return absl::FailedPreconditionError(
        "PostgreSQL server programs not found under /usr/lib/postgresql/*/bin; install the "
        "'postgresql' package (scripts/install-deps) or set a database URL");
  }
  std::error_code ec;
  fs::path data = fs::absolute(options_.data_dir, ec);
  fs::create_directories(data, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", data.string(), ": ", ec.message()));
  }
  ::chmod(data.c_str(), 0700);
  pgdata_ = (data / "pgdata").string();
  socket_dir_ = (data / "socket").string();
  // A Unix socket path is limited to 107 bytes.
  if (socket_dir_.size() + sizeof("/.s.PGSQL.5432") > 107) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory path is too long for a Unix socket; use a shorter one than ",
                     data.string()));
  }
  fs::create_directories(socket_dir_, ec);

  if (::geteuid() == 0) {
    struct passwd* account = ::getpwnam(options_.os_user.c_str());
    if (account == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "running as root, PostgreSQL must run as an unprivileged account, but account '",
          options_.os_user, "' does not exist (it comes with the 'postgresql' package)"));
    }
    run_uid_ = static_cast<int>(account->pw_uid);
    run_gid_ = static_cast<int>(account->pw_gid);
    for (const auto& path : {data.string(), socket_dir_}) {
      if (auto status = Chown(path, run_uid_, run_gid_); !status.ok()) return status;
    }
    // The account must be able to reach the directory through its parents.
    for (fs::path parent = data.parent_path(); !parent.empty() && parent != parent.root_path();
         parent = parent.parent_path()) {
      struct stat info;
      if (::stat(parent.c_str(), &info) == 0 && (info.st_mode & S_IXOTH) == 0 &&
          static_cast<int>(info.st_uid) != run_uid_) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the database account '", options_.os_user, "' cannot enter ", parent.string(),
            "; choose a data directory outside it (for example /var/lib/coplan)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status EmbeddedPostgres::RunProgram(const std::vector<std::string>& argv,
                                          const std::string& log_file, int* exit_code) {
  Subprocess::Options options;
  options.argv = argv;
  options.environment = std::vector<std::string>{
      "PATH=/usr/bin:/bin", absl::StrCat("HOME=", options_.data_dir), "LC_ALL=C"};
  options.stdout_file = options.stderr_file = log_file;
  options.uid = run_uid_;
  options.gid = run_uid_ >= 0 ? run_gid_ : -1;
  // pg_ctl leaves the server running on its own: it must not be tied to this thread.
  options.die_with_parent = false;
  COPLAN_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> child, Subprocess::Start(options));
  COPLAN_ASSIGN_OR_RETURN(const int code, child->Wait(absl::Minutes(10)));
  if (exit_code != nullptr) {
    *exit_code = code;
    return absl::OkStatus();
  }
  if (code != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        fs::path(argv[0]).filename().string(), " failed (exit ", code, "): ", Tail(log_file)));
  }
  return absl::OkStatus();
}

absl::Status EmbeddedPostgres::InitCluster() {
  const std::string log_file = (fs::path(options_.data_dir) / "initdb.log").string();
  if (run_uid_ >= 0) {
    ::close(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600));
    ::chown(log_file.c_str(), run_uid_, run_gid_);
  }
  std::vector<std::string> argv = {(fs::path(bin_dir_) / "initdb").string(),
                                   "-D",
                                   pgdata_,
                                   "-U",
                                   kSuperuser,
                                   "-A",
                                   "trust",
                                   "-E",
                                   "UTF8",
                                   "--no-locale"};
  if (!options_.durable) argv.push_back("--no-sync");
  Log(LogLevel::kInfo, "embedded_postgres_init");
  return RunProgram(argv, log_file);
}

absl::Status EmbeddedPostgres::StartServer() {
  const std::string pg_ctl = (fs::path(bin_dir_) / "pg_ctl").string();
  const std::string log_file = (fs::path(options_.data_dir) / "postgres.log").string();
  if (run_uid_ >= 0) {
    ::close(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600));
    ::chown(log_file.c_str(), run_uid_, run_gid_);
  }
  int status_code = 0;
  auto status = RunProgram({pg_ctl, "status", "-D", pgdata_}, "/dev/null", &status_code);
  if (!status.ok()) return status;
  if (status_code == 0) {
    // Left running by a server that was killed: adopt it and stop it when done.
    Log(LogLevel::kInfo, "embedded_postgres_adopted");
    running_ = true;
    return absl::OkStatus();
  }
  std::vector<std::string> server_options = {"-c listen_addresses=''",
                                             absl::StrCat("-k ", socket_dir_),
                                             "-c unix_socket_permissions=0700"};
  if (!options_.durable) {
    server_options.push_back("-c fsync=off");
    server_options.push_back("-c synchronous_commit=off");
    server_options.push_back("-c full_page_writes=off");
  }
  for (const auto& setting : options_.settings) server_options.push_back("-c " + setting);
  status = RunProgram({pg_ctl, "start", "-w", "-t", "120", "-D", pgdata_, "-l", log_file, "-o",
                       absl::StrJoin(server_options, " ")},
                      log_file);
  if (!status.ok()) return status;
  running_ = true;
  Log(LogLevel::kInfo, "embedded_postgres_started");
  return absl::OkStatus();
}

absl::Status EmbeddedPostgres::EnsureDatabase() {
  try {
    pqxx::connection conn(ConnectionString("postgres"));
    pqxx::nontransaction tx(conn);
    auto exists = tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", options_.database);
    if (exists.empty()) tx.exec("CREATE DATABASE " + tx.quote_name(options_.database));
    // The superuser owns the schema; the server runs as a role that can only use data
    // (migration 0007 grants coplan_server what it may do).
    tx.exec(
        absl::StrCat("DO $$ BEGIN"
                     " IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coplan_server') THEN"
                     "   CREATE ROLE coplan_server NOLOGIN; END IF;"
                     " IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '",
                     kServerLogin, "') THEN CREATE ROLE ", kServerLogin,
                     " LOGIN IN ROLE coplan_server; END IF; END $$"));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot create database in the embedded cluster: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status EmbeddedPostgres::Stop() {
  if (!running_) return absl::OkStatus();
  running_ = false;
  const std::string log_file = (fs::path(options_.data_dir) / "postgres.log").string();
  auto status = RunProgram({(fs::path(bin_dir_) / "pg_ctl").string(), "stop", "-w", "-t", "60",
                            "-m", "fast", "-D", pgdata_},
                           log_file);
  if (status.ok()) Log(LogLevel::kInfo, "embedded_postgres_stopped");
  return status;
}

absl::Status EmbeddedPostgres::Crash() {
  std::ifstream pid_file(fs::path(pgdata_) / "postmaster.pid");
  long pid = 0;
  if (!(pid_file >> pid) || pid <= 0) return absl::FailedPreconditionError("no postmaster.pid");
  if (::kill(static_cast<pid_t>(pid), SIGKILL) != 0) {
    return absl::InternalError(absl::StrCat("kill failed: ", strerror(errno)));
  }
  running_ = false;
  // Wait until the postmaster is gone so a restart does not race it.
  for (int i = 0; i < 500 && ::kill(static_cast<pid_t>(pid), 0) == 0; ++i) ::usleep(10000);
  return absl::OkStatus();
}

}  // namespace coplan
