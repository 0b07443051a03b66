// One reader following one document, as the watch hub holds it: who reads, what, and
// how they may see it, all settled by the access check before the watcher is made, and
// the place of this document in the reader's stream (live/watch_stream.h).
//
//   stream->AddTarget(1, start_revision);
//   auto watcher = std::make_shared<Watcher>(target, stream, 1);
//   watcher->OfferChange(8, event);
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "server/common/resource_names.h"
#include "server/domain/access_policy.h"
#include "server/live/watch_stream.h"
#include "server/service/caller.h"

namespace coplan {

// What is watched, by whom, as the access check allowed it.
struct WatchTarget {
  DocumentName name;
  int64_t document_key = 0;
  Caller reader;  // the session and person re-checked while the watch lasts
  bool editing = false;
  bool see_withholdings = false;
  Relationship via = Relationship::kNone;
  // When the reader's access ends by time alone (a grant's expiry, the 16th birthday, the
  // session's end), if it does: the watch is checked again at that instant.
  std::optional<absl::Time> access_ends;
  // The document's revision when the watch started.
  int64_t current_revision = 0;
  // When the reader's access ends by the document's own rules (not their session's).
  std::optional<absl::Time> shown_until;
  // WatchHub::AccessEpoch() taken before the reader's access was checked: an access change
  // the hub hears of before the watcher is registered (and so could not end it) shows as a
  // later epoch, and the watcher is checked again once registered.
  uint64_t access_epoch = 0;
};

// Who is present on a document, as the hub hands it to each of its watchers.
struct PresenceView {
  WatchStream::Event everyone;         // the whole update, as the person and the care team see it
  std::set<std::string> shown_to_all;  // "people/{id}" every reader may see (PresentPeople)
};

class Watcher {
 public:
  using Event = WatchStream::Event;
  using Offer = WatchStream::Offer;

  // `id` is the target's place in `stream` (added there already).
  Watcher(WatchTarget target, std::shared_ptr<WatchStream> stream, WatchStream::Target id)
      : target_(std::move(target)), stream_(std::move(stream)), id_(id) {}

  const WatchTarget& target() const { return target_; }
  const DocumentName& name() const { return target_.name; }
  int64_t document_key() const { return target_.document_key; }
  const Caller& reader() const { return target_.reader; }
  bool editing() const { return target_.editing; }
  bool see_withholdings() const { return target_.see_withholdings; }
  Relationship via() const { return target_.via; }
  WatchStream& stream() const { return *stream_; }
  const std::shared_ptr<WatchStream>& shared_stream() const { return stream_; }
  WatchStream::Target id() const { return id_; }

  Offer OfferChange(int64_t revision, Event event, bool catch_up = false) {
    return stream_->OfferChange(id_, revision, std::move(event), catch_up);
  }
  // Presence as this reader may see it: the person and the care team see everyone present;
  // a carer, proxy or grantee sees the person, the care team and themself, so that no one
  // learns from presence of a grant made to someone else.
  bool OfferPresence(const PresenceView& present);
  bool OfferOther(Event event) { return stream_->OfferOther(id_, std::move(event)); }
  int64_t last_queued() const { return stream_->last_queued(id_); }
  bool BeginCatchUp() { return stream_->BeginCatchUp(id_); }
  bool FinishCatchUp() { return stream_->FinishCatchUp(id_); }
  void AbandonCatchUp() { stream_->AbandonCatchUp(id_); }
  // Ends the reader's watch of this document (on a sync stream, only this target).
  void End(const absl::Status& status) { stream_->EndTarget(id_, status); }
  bool ended() const { return stream_->TargetEnded(id_); }

 private:
  const WatchTarget target_;
  const std::shared_ptr<WatchStream> stream_;
  const WatchStream::Target id_;
};

}  // namespace coplan
