// What the document service tells the live layer after a commit (implemented by the hub
// of server/live, which wakes watchers here and rings the doorbell for other instances).
#pragma once

#include <cstdint>
#include <string>

namespace coplan {

class DocumentEvents {
 public:
  virtual ~DocumentEvents() = default;
  // A revision of a document committed.
  virtual void RevisionCommitted(int64_t document_key, int64_t revision) = 0;
  // Someone signed a revision off.
  virtual void AgreementChanged(int64_t document_key) = 0;
  // Access to a person's records may have shrunk (grant revoked, care team changed).
  virtual void AccessChanged(const std::string& person_id) = 0;
  // A session was signed out: its streams end.
  virtual void SessionEnded(const std::string& session_id) = 0;
};

}  // namespace coplan
