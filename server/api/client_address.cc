#include "server/api/client_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/errors.h"

namespace coplan {

namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool SamePrefix(const IpAddress& a, const IpAddress& b, int bits) {
  if (a.v6 != b.v6) return false;
  const int whole = bits / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), whole) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

std::string Format(const IpAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), text, sizeof(text));
  return text;
}

// The throttle key of an address: itself for IPv4, its /64 for IPv6.
std::string KeyOf(IpAddress address) {
  if (!address.v6) return Format(address);
  std::memset(address.bytes.data() + 8, 0, 8);
  return absl::StrCat(Format(address), "/64");
}

// The address part of a gRPC peer string, without the port.
std::optional<IpAddress> PeerAddress(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    const size_t colon = peer.rfind(':');
    return IpAddress::Parse(peer.substr(0, colon));
  }
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    // "[addr%zone]:port"
    if (!absl::ConsumePrefix(&peer, "[")) return std::nullopt;
    const size_t close = peer.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    absl::string_view host = peer.substr(0, close);
    host = host.substr(0, host.find('%'));
    return IpAddress::Parse(host);
  }
  return std::nullopt;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  const std::string host(absl::StripAsciiWhitespace(text));
  IpAddress address;
  if (inet_pton(AF_INET, host.c_str(), address.bytes.data()) == 1) return address;
  if (inet_pton(AF_INET6, host.c_str(), address.bytes.data()) != 1) return std::nullopt;
  if (std::memcmp(address.bytes.data(), kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0) {
    // ::ffff:a.b.c.d is the IPv4 client a dual-stack socket reports.
    std::memmove(address.bytes.data(), address.bytes.data() + 12, 4);
    std::memset(address.bytes.data() + 4, 0, 12);
    return address;
  }
  address.v6 = true;
  return address;
}

absl::StatusOr<TrustedProxies> TrustedProxies::Parse(absl::string_view list) {
  TrustedProxies proxies;
  for (absl::string_view entry : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    absl::string_view host = entry;
    int bits = -1;
    const size_t slash = entry.find('/');
    if (slash != absl::string_view::npos) {
      host = entry.substr(0, slash);
      if (!absl::SimpleAtoi(entry.substr(slash + 1), &bits)) bits = -2;
    }
    auto address = IpAddress::Parse(host);
    const int max_bits = address && address->v6 ? 128 : 32;
    if (!address || bits == -2 || bits > max_bits || bits < -1) {
      return InvalidFieldError("trusted_proxies",
                               absl::StrCat("\"", entry,
                                            "\" is not an IP address or a CIDR block such as "
                                            "10.0.0.0/8 or fd00::/8"));
    }
    proxies.blocks_.push_back({*address, bits == -1 ? max_bits : bits});
  }
  return proxies;
}

bool TrustedProxies::Contains(const IpAddress& address) const {
  for (const Block& block : blocks_) {
    if (SamePrefix(block.base, address, block.prefix_bits)) return true;
  }
  return false;
}

std::string ClientAddress(absl::string_view grpc_peer,
                          const std::vector<std::string>& forwarded_for,
                          const TrustedProxies& trusted) {
  std::optional<IpAddress> peer = PeerAddress(grpc_peer);
  if (!peer) {
    // A unix socket or another transport: the peer string without an address.
    const size_t colon = grpc_peer.find(':');
    return std::string(grpc_peer.substr(0, colon));
  }
  if (trusted.empty() || !trusted.Contains(*peer)) return KeyOf(*peer);
  // Each proxy appends the address it got the call from: walk back from the nearest
  // until an entry is not a trusted proxy. One that does not parse was written by the
  // client or a broken hop; the trusted proxy that passed it on is the answer then.
  std::vector<absl::string_view> hops;
  for (const std::string& value : forwarded_for) {
    for (absl::string_view hop : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      hops.push_back(absl::StripAsciiWhitespace(hop));
    }
  }
  IpAddress client = *peer;
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    auto address = IpAddress::Parse(*hop);
    if (!address) break;
    client = *address;
    if (!trusted.Contains(client)) break;
  }
  return KeyOf(client);
}

}  // namespace coplan
