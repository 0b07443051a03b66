// The keys that sign and verify the server's own access tokens. They rotate on their own,
// apart from the master secret, whose audit key must stay as it is for ever so that old
// audit trails still verify (server_keys.h).
//
//   TokenKeys keys = TokenKeys::Single(kMasterTokenKeyId, server_keys.token_key);
//   COPLAN_ASSIGN_OR_RETURN(TokenKeys keys, ReadTokenKeyFile("/etc/coplan/token-keys"));
//   const TokenKey& signer = keys.SigningKeyAt(now);   // its kid goes in the JWT header
//   const TokenKey* key = keys.Find(jwt_kid);          // any listed key verifies
//
// A token key file (--token_key_file) holds one key per line,
//   <kid> <signing since, unix seconds> <key, base64, at least 32 bytes>
// The key whose "signing since" is the latest of those already reached signs; every key
// listed verifies, so a rotated-out key keeps its tokens working until they expire. A
// new key is written to start signing some minutes later (`coplan-server
// rotate-token-key`): every instance re-reads the file within 30 s, so all of them accept
// the new key before any signs with it. The same command drops keys whose tokens have
// all expired; removing a key by hand ends its tokens at once (a leaked key).
//
// Without a file the one key is derived from the master secret (kid "m"); tokens of
// earlier versions, which name no key, are verified with that key only.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace coplan {

inline constexpr char kMasterTokenKeyId[] = "m";

struct TokenKey {
  std::string kid;  // 1 to 32 of [A-Za-z0-9_-]
  absl::Time signing_since;
  std::string secret;
};

class TokenKeys {
 public:
  static TokenKeys Single(std::string kid, std::string secret);
  // Parses the file's text; INVALID_ARGUMENT naming the line that is wrong.
  static absl::StatusOr<TokenKeys> Parse(const std::string& text);

  // The key that signs at `now`: the latest "signing since" not after `now` (the earliest
  // key if none has been reached yet).
  const TokenKey& SigningKeyAt(absl::Time now) const;
  // The key named `kid`; nullptr if it is not listed.
  const TokenKey* Find(const std::string& kid) const;
  const std::vector<TokenKey>& keys() const { return keys_; }
  // The file's text, newest key first.
  std::string Format() const;

  // Adds a new random key that signs from `now + delay`, and drops every key whose
  // tokens have all expired by `now` (it stopped signing more than `token_lifetime` ago).
  void Rotate(absl::Time now, absl::Duration delay, absl::Duration token_lifetime);

 private:
  std::vector<TokenKey> keys_;  // newest "signing since" first
};

absl::StatusOr<TokenKeys> ReadTokenKeyFile(const std::string& path);
// The file's text, unparsed.
absl::StatusOr<std::string> ReadTokenKeyFileText(const std::string& path);
// Replaces the file (written beside it and renamed, owner-only) with `keys`.
absl::Status WriteTokenKeyFile(const std::string& path, const TokenKeys& keys);

}  // namespace coplan
