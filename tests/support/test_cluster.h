// One throwaway PostgreSQL cluster per test process (in /tmp, no fsync), started on first
// use and removed at exit, with a fresh database for each test fixture.
//
//   std::string conninfo = TestCluster::Get().NewDatabase();
#pragma once

#include <memory>
#include <string>

#include "server/embedded/embedded_postgres.h"

namespace coplan::testing {

class TestCluster {
 public:
  static TestCluster& Get();
  // Creates an empty database and returns its connection string.
  std::string NewDatabase();
  // Applies the migrations to a database of the cluster as its owner and returns the
  // connection string of the server's data-only role for it.
  std::string MigrateForServer(const std::string& owner_conninfo);
  EmbeddedPostgres& postgres() { return *postgres_; }
  const std::string& directory() const { return directory_; }

 private:
  TestCluster();
  std::string directory_;
  std::unique_ptr<EmbeddedPostgres> postgres_;
};

// A new private temporary directory (removed by the caller or at exit).
std::string MakeTempDir(const std::string& prefix);

}  // namespace coplan::testing
