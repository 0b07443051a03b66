#include "server/service/page_token.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"

namespace coplan {
namespace {

// Parts are separated by '\n', which no id or number contains.
std::string Check(absl::string_view body, absl::string_view fingerprint) {
  return Base64UrlEncode(Sha256(absl::StrCat(body, "\n", fingerprint)).substr(0, 9));
}

}  // namespace

int64_t PageCursor::Int(size_t i) const {
  int64_t value = 0;
  (void)absl::SimpleAtoi(parts[i], &value);
  return value;
}

std::string EncodePageToken(const std::vector<std::string>& parts, absl::string_view fingerprint) {
  const std::string body = absl::StrJoin(parts, "\n");
  return Base64UrlEncode(absl::StrCat(Check(body, fingerprint), body));
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, absl::string_view fingerprint,
                                           size_t expected_parts) {
  auto invalid = [] {
    return InvalidFieldError("page_token",
                             "is not a token this listing returned, or the other request "
                             "fields changed since; start again without a token");
  };
  std::string decoded;
  if (!Base64UrlDecode(token, &decoded) || decoded.size() < 12) return invalid();
  const std::string body = decoded.substr(12);
  if (decoded.substr(0, 12) != Check(body, fingerprint)) return invalid();
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
