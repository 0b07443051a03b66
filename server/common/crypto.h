// Small wrappers over OpenSSL's digests and MACs, for tokens, audit chains and etags.
//
//   std::string mac = HmacSha256(key, message);            // 32 raw bytes
//   bool same = ConstantTimeEquals(mac, expected);
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace coplan {

std::string Sha256(absl::string_view data);                             // 32 raw bytes
std::string HmacSha256(absl::string_view key, absl::string_view data);  // 32 raw bytes
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);
std::string Base64UrlEncode(absl::string_view data);  // no padding
bool Base64UrlDecode(absl::string_view text, std::string* out);
// Appends a length-prefixed field, so that concatenations are unambiguous.
void AppendField(std::string* out, absl::string_view field);

}  // namespace coplan
