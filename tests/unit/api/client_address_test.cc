// The client address the sign-in throttle keys by: the socket peer, or what a trusted
// proxy's X-Forwarded-For says, and nothing a client writes itself.
#include "server/api/client_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace coplan {
namespace {

TrustedProxies Proxies(const char* list) {
  auto proxies = TrustedProxies::Parse(list);
  EXPECT_TRUE(proxies.ok()) << proxies.status();
  return proxies.ok() ? *proxies : TrustedProxies();
}

TEST(ClientAddressTest, IsTheSocketPeerWithoutItsPort) {
  EXPECT_EQ(ClientAddress("ipv4:203.0.113.7:51234", {}, {}), "203.0.113.7");
  // IPv4 on a dual-stack socket is the IPv4 address.
  EXPECT_EQ(ClientAddress("ipv6:[::ffff:203.0.113.7]:443", {}, {}), "203.0.113.7");
  // IPv6 clients are keyed by their /64: one customer's block is one client.
  EXPECT_EQ(ClientAddress("ipv6:[2001:db8:1:2:aaaa::1]:443", {}, {}), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientAddress("ipv6:[2001:db8:1:2:bbbb::9]:443", {}, {}), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientAddress("ipv6:[fe80::1%eth0]:443", {}, {}), "fe80::/64");
  EXPECT_EQ(ClientAddress("unix:/run/coplan.sock", {}, {}), "unix");
}

TEST(ClientAddressTest, AForwardedForHeaderCountsOnlyFromATrustedProxy) {
  // Not trusted: a client cannot choose its own address by writing the header.
  EXPECT_EQ(ClientAddress("ipv4:198.51.100.1:1", {"203.0.113.7"}, {}), "198.51.100.1");
  EXPECT_EQ(ClientAddress("ipv4:198.51.100.1:1", {"203.0.113.7"}, Proxies("10.0.0.0/8")),
            "198.51.100.1");
  // Trusted: the rightmost entry that is not itself a trusted proxy.
  const TrustedProxies proxies = Proxies("10.0.0.0/8, fd00::/8");
  EXPECT_EQ(ClientAddress("ipv4:10.1.2.3:1", {"203.0.113.7"}, proxies), "203.0.113.7");
  EXPECT_EQ(ClientAddress("ipv4:10.1.2.3:1", {"1.2.3.4, 203.0.113.7, 10.9.9.9"}, proxies),
            "203.0.113.7")
      << "the leftmost entries are the client's own claims";
  EXPECT_EQ(ClientAddress("ipv6:[fd00::5]:1", {"1.2.3.4", "203.0.113.7"}, proxies), "203.0.113.7")
      << "several header lines are one list";
  EXPECT_EQ(ClientAddress("ipv4:10.1.2.3:1", {"not-an-address"}, proxies), "10.1.2.3");
  EXPECT_EQ(ClientAddress("ipv4:10.1.2.3:1", {}, proxies), "10.1.2.3");
}

TEST(ClientAddressTest, TrustedProxiesAreAddressesOrCidrBlocks) {
  const TrustedProxies proxies = Proxies("192.168.0.0/16,::1,10.0.0.1");
  EXPECT_TRUE(proxies.Contains(*IpAddress::Parse("192.168.200.1")));
  EXPECT_FALSE(proxies.Contains(*IpAddress::Parse("192.169.0.1")));
  EXPECT_TRUE(proxies.Contains(*IpAddress::Parse("::1")));
  EXPECT_TRUE(proxies.Contains(*IpAddress::Parse("10.0.0.1")));
  EXPECT_FALSE(proxies.Contains(*IpAddress::Parse("10.0.0.2")));
  EXPECT_TRUE(Proxies("").empty());
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/x", "proxy.local", "1.2.3"}) {
    auto parsed = TrustedProxies::Parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()), ::testing::HasSubstr(bad));
  }
}

}  // namespace
}  // namespace coplan
