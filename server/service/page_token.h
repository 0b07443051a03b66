// Opaque page tokens (AIP-158): where a listing continues, bound to the request's other
// fields so that a token cannot be reused with a different query.
//
//   std::string token = EncodePageToken({absl::StrCat(micros), id}, fingerprint);
//   COPLAN_ASSIGN_OR_RETURN(PageCursor cursor, DecodePageToken(token, fingerprint, 2));
//   cursor.Int(0), cursor.Text(1)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coplan {

struct PageCursor {
  std::vector<std::string> parts;
  int64_t Int(size_t i) const;
  const std::string& Text(size_t i) const { return parts[i]; }
};

std::string EncodePageToken(const std::vector<std::string>& parts, absl::string_view fingerprint);
// INVALID_ARGUMENT ("page_token") when malformed, of another shape, or issued for a
// different query.
absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, absl::string_view fingerprint,
                                           size_t expected_parts);

// Cuts rows read with `limit + 1` back to `limit` and says whether there were more: the
// one extra row only tells that a next page exists.
template <typename Row>
bool TrimToPage(std::vector<Row>& rows, int limit) {
  if (static_cast<int>(rows.size()) <= limit) return false;
  rows.resize(limit);
  return true;
}

// The page size to use: `requested` if in 1..max (larger is capped), `default_size` for 0;
// negative is an error naming "page_size".
absl::StatusOr<int> PageSize(int requested, int default_size, int max_size);

}  // namespace coplan
