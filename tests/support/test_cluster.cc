#include "tests/support/test_cluster.h"

#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/store/migrations.h"

namespace coplan::testing {
namespace {

TestCluster* g_cluster = nullptr;

void StopCluster() {
  if (g_cluster == nullptr) return;
  (void)g_cluster->postgres().Stop();
  std::error_code ignored;
  std::filesystem::remove_all(g_cluster->directory(), ignored);
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) {
    std::cerr << "cannot create a temporary directory\n";
    std::abort();
  }
  return made;
}

TestCluster& TestCluster::Get() {
  static TestCluster* cluster = [] {
    g_cluster = new TestCluster();
    std::atexit(StopCluster);
    return g_cluster;
  }();
  return *cluster;
}

TestCluster::TestCluster() {
  directory_ = MakeTempDir("coplan-test-pg");
  EmbeddedPostgres::Options options;
  options.data_dir = directory_;
  options.durable = false;
  options.settings = {"max_connections=300", "shared_buffers=32MB"};
  auto started = EmbeddedPostgres::Start(options);
  if (!started.ok()) {
    std::cerr << "cannot start the test PostgreSQL cluster: " << started.status() << "\n";
    std::abort();
  }
  postgres_ = std::move(started).value();
}

std::string TestCluster::NewDatabase() {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat("test_", ::getpid(), "_", counter++);
  pqxx::connection conn(postgres_->ConnectionString("postgres"));
  pqxx::nontransaction tx(conn);
  tx.exec("CREATE DATABASE " + name + " TEMPLATE template0");
  return postgres_->ConnectionString(name);
}

std::string TestCluster::MigrateForServer(const std::string& owner_conninfo) {
  auto migrated = ApplyMigrations(owner_conninfo);
  if (!migrated.ok()) {
    std::cerr << "cannot migrate the test database: " << migrated.status() << "\n";
    std::abort();
  }
  // libpq takes the last value of a repeated keyword.
  return absl::StrCat(owner_conninfo, " user=", EmbeddedPostgres::kServerLogin);
}

}  // namespace coplan::testing
