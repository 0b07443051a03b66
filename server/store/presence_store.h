// SQL for presence: who watches (or edits) which document, per server instance.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "coplan/v1/editing.pb.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

class PresenceStore {
 public:
  explicit PresenceStore(Database& db);

  // Sets this instance's presence of a person on a document (editing or viewing), or
  // removes it when `present` is false.
  void Set(WriteTransaction& tx, int64_t document_key, const std::string& instance_id,
           const std::string& person_id, bool present, bool editing);
  // Refreshes the heartbeat of every row of this instance.
  void Heartbeat(WriteTransaction& tx, const std::string& instance_id);
  // Removes every row of this instance (shutdown).
  void Clear(WriteTransaction& tx, const std::string& instance_id);
  // Everyone present on the document across instances, whose heartbeat is fresher
  // than `stale_after`.
  coplan::v1::PresenceUpdate Load(Transaction& tx, int64_t document_key,
                                  absl::Duration stale_after);

 private:
  Database& db_;
};

}  // namespace coplan
