// Which network address a call comes from, for the sign-in throttle
// (server/service/sign_in_throttle.h). It is never logged or stored.
//
// The address is the socket peer gRPC reports, unless that peer is one of the reverse
// proxies named by --trusted_proxies: then it is the rightmost X-Forwarded-For entry that
// is not itself a trusted proxy. A header from anyone else is ignored, since a client can
// write anything in it. IPv6 clients are keyed by their /64, the block one customer
// usually holds, so an attacker cannot get a fresh bucket per address.
//
//   COPLAN_ASSIGN_OR_RETURN(TrustedProxies proxies, TrustedProxies::Parse("10.0.0.0/8,::1"));
//   std::string key = ClientAddress(context->peer(), forwarded_for_values, proxies);
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coplan {

struct IpAddress {
  bool v6 = false;                  // IPv4 (and IPv4-mapped IPv6) use the first 4 bytes
  std::array<uint8_t, 16> bytes{};  // network order
  static std::optional<IpAddress> Parse(absl::string_view text);
};

class TrustedProxies {
 public:
  // A comma-separated list of addresses and CIDR blocks ("10.0.0.0/8, fd00::/8, ::1");
  // "" trusts none. INVALID_ARGUMENT names the entry that does not parse.
  static absl::StatusOr<TrustedProxies> Parse(absl::string_view list);

  bool Contains(const IpAddress& address) const;
  bool empty() const { return blocks_.empty(); }

 private:
  struct Block {
    IpAddress base;
    int prefix_bits = 0;
  };
  std::vector<Block> blocks_;
};

// The key the call's client is throttled by: "203.0.113.7", "2001:db8:1:2::/64", or the
// peer itself for a transport without an IP address. `grpc_peer` is
// grpc::ServerContextBase::peer() ("ipv4:203.0.113.7:51234", "ipv6:[2001:db8::1]:443");
// `forwarded_for` is every X-Forwarded-For value the call carries, in order.
std::string ClientAddress(absl::string_view grpc_peer,
                          const std::vector<std::string>& forwarded_for,
                          const TrustedProxies& trusted);

}  // namespace coplan
