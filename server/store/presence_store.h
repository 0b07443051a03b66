// SQL for presence: who watches (or edits) which document, per server instance.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "coplan/v1/editing.pb.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

// Who is present on a document, and which of them every reader may see.
struct PresentPeople {
  coplan::v1::PresenceUpdate everyone;
  // "people/{id}" of the person whose document it is and of their care team: people every
  // reader of the document may already see. Other readers (carers, proxies, grantees) are
  // shown only to the person, the care team and themselves.
  std::set<std::string> shown_to_all;
};

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
  PresentPeople Load(Transaction& tx, int64_t document_key, absl::Duration stale_after);

 private:
  Database& db_;
};

}  // namespace coplan
