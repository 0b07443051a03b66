#include "server/app/tls_credentials.h"

#include <gtest/gtest.h>

namespace coplan {
namespace {

TEST(IsLoopbackListenAddressTest, LoopbackAddressesAndUnixSocketsAreLocal) {
  for (const char* listen :
       {"127.0.0.1:50051", "127.0.0.1:0", "127.8.9.10:1", "localhost:50051", "[::1]:50051",
        "[::ffff:127.0.0.1]:50051", "unix:/run/coplan.sock", "unix-abstract:coplan"}) {
    EXPECT_TRUE(IsLoopbackListenAddress(listen)) << listen;
  }
}

TEST(IsLoopbackListenAddressTest, EveryOtherAddressReachesBeyondTheMachine) {
  for (const char* listen :
       {"0.0.0.0:50051", "[::]:50051", ":50051", "10.0.0.5:8443", "192.168.1.2:50051",
        "[2001:db8::1]:443", "coplan.example:443", "[::ffff:10.0.0.1]:1", "128.0.0.1:50051",
        "[::1:50051", "localhost.example.com:1"}) {
    EXPECT_FALSE(IsLoopbackListenAddress(listen)) << listen;
  }
}

}  // namespace
}  // namespace coplan
