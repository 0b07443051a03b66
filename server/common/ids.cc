#include "server/common/ids.h"

#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace coplan {
namespace {

constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

void RandomBytes(unsigned char* out, int size) {
  if (RAND_bytes(out, size) != 1) {
    // Without a working CSPRNG no id or token can be trusted; there is no safe fallback.
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
}

// Uniform choice from `alphabet_size` symbols by rejection sampling.
std::string RandomString(int length, int alphabet_size, bool letter_first) {
  std::string out;
  out.reserve(length);
  unsigned char buffer[64];
  while (static_cast<int>(out.size()) < length) {
    RandomBytes(buffer, sizeof buffer);
    for (unsigned char byte : buffer) {
      const int limit = letter_first && out.empty() ? 26 : alphabet_size;
      const int cutoff = 256 - 256 % limit;
      if (byte >= cutoff) continue;
      out.push_back(kAlphabet[byte % limit]);
      if (static_cast<int>(out.size()) == length) break;
    }
  }
  return out;
}

bool IsLowerAlnumOrDash(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace

std::string NewResourceId() { return RandomString(16, 36, /*letter_first=*/true); }

std::string NewItemId() { return RandomString(8, 36, /*letter_first=*/false); }

std::string NewRandomToken(int bytes) {
  std::vector<unsigned char> buffer(bytes);
  RandomBytes(buffer.data(), bytes);
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(buffer.data()), buffer.size()));
}

bool IsValidClientResourceId(absl::string_view id) {
  if (id.size() < 4 || id.size() > 63) return false;
  if (!(id.front() >= 'a' && id.front() <= 'z') || id.back() == '-') return false;
  for (char c : id) {
    if (!IsLowerAlnumOrDash(c)) return false;
  }
  return true;
}

bool IsValidNameSegment(absl::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (char c : id) {
    if (!IsLowerAlnumOrDash(c)) return false;
  }
  return true;
}

bool IsValidItemId(absl::string_view id) {
  if (id.empty() || id.size() > 40) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string IdentityCredential(absl::string_view identity_id) {
  return absl::StrCat("idp:", identity_id);
}

bool IsIdentityCredential(absl::string_view credential) {
  return absl::StartsWith(credential, "idp:");
}

}  // namespace coplan
