// SQL for sign-in sessions: the short ones of a password sign-in, and device sessions
// that stay signed in with a refresh token used once and replaced (only its SHA-256 is
// kept, with the one rotated out last, whose reuse gives a copied token away).
//
//   SessionStore sessions(db);
//   sessions.Insert(tx, row);
//   std::optional<RefreshMatch> found = sessions.FindByRefreshHash(tx, Sha256(token));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

struct SessionRow {
  std::string id;
  std::string person_id;
  std::string device_name;  // empty for sessions without one
  absl::Time create_time;
  absl::Time expire_time;
  std::optional<absl::Time> revoke_time;
  std::optional<absl::Time> last_refresh_time;
};

// A session found by a refresh token: as its current token, or as the one rotated out.
struct RefreshMatch {
  SessionRow session;
  bool current = false;  // false: the token was already exchanged once
};

class SessionStore {
 public:
  explicit SessionStore(Database& db);

  // `refresh_hash` empty for a session without a refresh token.
  void Insert(WriteTransaction& tx, const SessionRow& session, const std::string& refresh_hash);
  // Locks the session for the rest of the transaction.
  std::optional<RefreshMatch> FindByRefreshHash(WriteTransaction& tx, const std::string& hash);
  // Replaces the refresh token (the old one is remembered) and moves the expiry on.
  void Rotate(WriteTransaction& tx, const std::string& session_id, const std::string& new_hash,
              absl::Time now, absl::Time expire);
  // False if there was no live session to revoke.
  bool Revoke(WriteTransaction& tx, const std::string& session_id, const std::string& person_id,
              absl::Time when);
  // Revokes every live session of the person except `kept_session_id` ("" keeps none);
  // the ids revoked.
  std::vector<std::string> RevokeAllBut(WriteTransaction& tx, const std::string& person_id,
                                        const std::string& kept_session_id, absl::Time when);
  // The person's sessions that are neither revoked nor expired at `now`, newest first.
  std::vector<SessionRow> ListLive(Transaction& tx, const std::string& person_id, absl::Time now,
                                   int limit);
};

}  // namespace coplan
