// The C ABI (mobile-bindings/c/coplan.h) end to end: the pure C test program
// (tests/bindings/c/c_abi_test.c, linked with libcoplan.so only) against the real server,
// with a person who signs in with a password and has a crisis plan. The program checks
// everything itself (see its file); this test gives it the server and a person, and wants
// exit code 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "tests/support/process.h"
#include "tests/support/records.h"
#include "tests/support/test_cluster.h"
#include "tests/support/test_server.h"

namespace coplan {
namespace {

using testing::TestServer;

// The C program built with the tests ($COPLAN_C_ABI_TEST_BINARY, set by tests/CMakeLists.txt).
std::string CAbiTestBinary() {
  const char* path = std::getenv("COPLAN_C_ABI_TEST_BINARY");
  return path != nullptr ? path : "";
}

TEST(CAbiTest, ThePureCProgramPassesAgainstTheRealServer) {
  const std::string binary = CAbiTestBinary();
  ASSERT_FALSE(binary.empty()) << "COPLAN_C_ABI_TEST_BINARY is not set";
  ASSERT_TRUE(std::filesystem::exists(binary)) << binary;

  auto server = TestServer::Start();
  testing::TestUser alex = server->CreateUser("Alex", {.birth_date = testing::Date(2009, 3, 14)});
  const v1::Plan plan = testing::CreateCrisisPlan(alex);
  ASSERT_FALSE(plan.name().empty());
  const std::string dir = testing::MakeTempDir("coplan-c-abi");

  testing::ProcessResult result = testing::RunProgram(
      {binary, server->address(), alex.id, TestServer::kPassword, dir, plan.name()}, "",
      absl::Seconds(300));
  std::cout << result.output;  // every step it took, in the test log
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, ::testing::HasSubstr("checks passed")) << result.output;

  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace coplan
