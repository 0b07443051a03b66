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
