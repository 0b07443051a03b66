// Opaque page tokens (AIP-158): where a listing continues, MAC'd with a key of the server
// and bound to the caller and to the request's other fields, so that a token can be neither
// forged (to start a listing at a place the server never handed out) nor reused by someone
// else or with a different query.
//
//   PageTokens tokens(server_keys.page_token_key);
//   std::string token = tokens.Encode(caller, {absl::StrCat(micros), id}, fingerprint);
//   COPLAN_ASSIGN_OR_RETURN(PageCursor cursor, tokens.Decode(caller, token, fingerprint, 2));
//   cursor.Int(0), cursor.Text(1)
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/service/caller.h"

namespace coplan {

struct PageCursor {
  std::vector<std::string> parts;
  int64_t Int(size_t i) const;
  const std::string& Text(size_t i) const { return parts[i]; }
};

class PageTokens {
 public:
  // `key`: at least 32 bytes, the same on every instance (derived from the master secret).
  explicit PageTokens(std::string key) : key_(std::move(key)) {}

  std::string Encode(const Caller& caller, const std::vector<std::string>& parts,
                     absl::string_view fingerprint) const;
  // INVALID_ARGUMENT ("page_token") when malformed, of another shape, not made by a server
  // with this key, or issued to another caller or for a different query: all alike.
  absl::StatusOr<PageCursor> Decode(const Caller& caller, absl::string_view token,
                                    absl::string_view fingerprint, size_t expected_parts) const;

 private:
  std::string Mac(const Caller& caller, absl::string_view body,
                  absl::string_view fingerprint) const;

  const std::string key_;
};

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
