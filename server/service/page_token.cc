#include "server/service/page_token.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"

namespace coplan {
namespace {

// 128 bits of HMAC-SHA256: guessing one is as hopeless as guessing the key.
constexpr size_t kMacBytes = 16;

}  // namespace

int64_t PageCursor::Int(size_t i) const {
  int64_t value = 0;
  (void)absl::SimpleAtoi(parts[i], &value);
  return value;
}

std::string PageTokens::Mac(const Caller& caller, absl::string_view body,
                            absl::string_view fingerprint) const {
  // Length-prefixed fields: no two (caller, query, body) give the same input.
  std::string input;
  AppendField(&input, caller.person_id);
  AppendField(&input, fingerprint);
  AppendField(&input, body);
  return HmacSha256(key_, input).substr(0, kMacBytes);
}

std::string PageTokens::Encode(const Caller& caller, const std::vector<std::string>& parts,
                               absl::string_view fingerprint) const {
  // Parts are separated by '\n', which no id or number contains.
  const std::string body = absl::StrJoin(parts, "\n");
  return Base64UrlEncode(absl::StrCat(Mac(caller, body, fingerprint), body));
}

absl::StatusOr<PageCursor> PageTokens::Decode(const Caller& caller, absl::string_view token,
                                              absl::string_view fingerprint,
                                              size_t expected_parts) const {
  auto invalid = [] {
    return InvalidFieldError("page_token",
                             "is not a token this listing returned to you, or the other request "
                             "fields changed since; start again without a token");
  };
  std::string decoded;
  if (!Base64UrlDecode(token, &decoded) || decoded.size() < kMacBytes) return invalid();
  const std::string body = decoded.substr(kMacBytes);
  if (!ConstantTimeEquals(decoded.substr(0, kMacBytes), Mac(caller, body, fingerprint))) {
    return invalid();
  }
  PageCursor cursor;
  cursor.parts = absl::StrSplit(body, '\n');
  if (cursor.parts.size() != expected_parts) return invalid();
  return cursor;
}

absl::StatusOr<int> PageSize(int requested, int default_size, int max_size) {
  if (requested < 0) return InvalidFieldError("page_size", "must not be negative");
  if (requested == 0) return default_size;
  return std::min(requested, max_size);
}

}  // namespace coplan
