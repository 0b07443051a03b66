// The in-process hub that feeds watch streams.
//
// For each watched document it keeps a channel: the highest revision it has distributed
// and the watchers on this instance. When a revision commits here (or another instance
// rings the doorbell), the channel reads the new revisions from the log once and offers
// them to every watcher, shown per reader as they may see them. A watcher behind the
// channel (a resume, a missed notification) catches up on its own from the log, with its
// access checked again. Presence (who is here, who is editing) lives on a board shared
// by instances and is re-broadcast on every change.
//
// Access ends at once: revoked grants, care-team removals, refusals and sign-outs end the
// affected watches when they happen; a grant's expiry, a 16th birthday, a session's or
// a token's end at the instant they fall due (each watcher's next such instant is
// scheduled, and checked within a quarter of a second of it). A timer also polls the
// latest revision of every watched document (so a lost notification costs seconds, never
// data), keeps presence alive, and re-checks every watcher's access now and then in case
// a ring was lost.
//
// The hub knows documents only through DocumentFeed and presence only through
// PresenceBoard (live/document_feed.h).
//
//   WatchHub hub(feed, presence, clock, options);
//   hub.Start();
//   hub.Watch(sink, target, start_revision, snapshot);   // WatchDocument, authorised
//   auto stream = hub.OpenStream(sink, WatchStream::Kind::kSync, person_id);   // a device's
//   auto watcher = hub.Follow(stream, 1, target, start_revision, snapshot);
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/common/worker_pool.h"
#include "server/live/document_feed.h"
#include "server/live/doorbell.h"
#include "server/live/event_sink.h"
#include "server/live/watcher.h"
#include "server/service/document_events.h"

namespace coplan {

class WatchHub : public DocumentEvents, public Doorbell::Listener {
 public:
  struct Options {
    std::string instance_id;
    size_t queue_limit = 256;
    absl::Duration poll_interval = absl::Seconds(5);
    absl::Duration access_recheck_interval = absl::Seconds(30);
    absl::Duration presence_heartbeat = absl::Seconds(10);
    // How often what each stream delivered is audited (one row per reader, document and
    // stream with the revision range); also when the reader stops following.
    absl::Duration read_audit_interval = absl::Seconds(60);
    int threads = 2;
    // Streams (WatchDocument or Sync) one person may hold open here at once: past it, a
    // new one is RESOURCE_EXHAUSTED, so that one account cannot hold the instance's memory.
    int max_streams_per_person = 32;
  };

  WatchHub(DocumentFeed& feed, PresenceBoard& presence, const Clock& clock, Options options);
  ~WatchHub() override;

  void SetDoorbell(Doorbell* doorbell) { doorbell_ = doorbell; }
  void Start();
  // Ends every stream (UNAVAILABLE: watch again elsewhere) and stops the timer.
  void Stop();

  // Starts an authorised watch of one document on `sink` (WatchDocument): the reader has
  // everything up to `start_revision`, and `snapshot` (when starting fresh) is sent first.
  // RESOURCE_EXHAUSTED (nothing bound to `sink`) past the reader's stream cap.
  absl::Status Watch(EventSink& sink, WatchTarget target, int64_t start_revision,
                     std::optional<coplan::v1::Document> snapshot);
  // A stream of many targets on `sink` (bound to it), for Follow, counted against
  // `person_id`'s streams until it closes; RESOURCE_EXHAUSTED past their cap.
  absl::StatusOr<std::shared_ptr<WatchStream>> OpenStream(EventSink& sink, WatchStream::Kind kind,
                                                          const std::string& person_id);
  // Follows an authorised document as target `id` of `stream`; nullptr (and the target
  // ended) when the stream has ended or the id is taken.
  std::shared_ptr<Watcher> Follow(const std::shared_ptr<WatchStream>& stream,
                                  WatchStream::Target id, WatchTarget target,
                                  int64_t start_revision,
                                  std::optional<coplan::v1::Document> snapshot);
  // The reader stopped following the watcher's document.
  void Unfollow(const std::shared_ptr<Watcher>& watcher);
  size_t watcher_count() const;
  // For the metrics: streams open here (WatchDocument and Sync), and documents followed
  // on them (one per stream and document).
  struct Use {
    size_t streams = 0;
    size_t followed_documents = 0;
  };
  Use use() const;
  const Options& options() const { return options_; }

  // DocumentEvents (this instance's commits).
  void RevisionCommitted(int64_t document_key, int64_t revision) override;
  void AgreementChanged(int64_t document_key) override;
  void AccessChanged(const std::string& person_id) override;
  void SessionEnded(const std::string& session_id) override;
  // Counts the access changes and session ends this hub has heard of (from this instance
  // or the doorbell). Take it before checking a reader's access (WatchTarget.access_epoch).
  uint64_t AccessEpoch() const { return access_epoch_.load(); }

  // Doorbell::Listener (other instances).
  void OnRing(const DoorbellMessage& message) override;
  void OnListening() override;

 private:
  // A person's streams on one document, on this instance.
  struct LocalPresence {
    int streams = 0;
    int editing_streams = 0;
  };

  struct Channel {
    DocumentName name;
    std::vector<std::shared_ptr<Watcher>> watchers;
    int64_t fetched = 0;  // highest revision distributed
    int64_t wanted = 0;   // highest revision known to exist
    bool fetching = false;
    std::map<std::string, LocalPresence> present;  // by person id
    // The latest presence sent, for newcomers.
    std::shared_ptr<const PresenceView> presence;
    bool presence_running = false;  // a broadcast is being prepared
    bool presence_again = false;    // something changed meanwhile: broadcast once more
  };

  // A stream counted against `person_id` has closed.
  void StreamClosed(const std::string& person_id);
  // Takes a watcher whose target is in its stream, and sends its starting point.
  void Attach(const std::shared_ptr<Watcher>& watcher,
              std::optional<coplan::v1::Document> snapshot);
  void Detach(const std::shared_ptr<Watcher>& watcher);
  // Checks the watcher again at `when` (its access's or token's timed end).
  void ScheduleReview(const std::shared_ptr<Watcher>& watcher,
                      std::optional<absl::Time> access_ends);
  // The reviews due by the clock's now.
  void RunDueReviews();
  void Ring(DoorbellMessage message);
  // False if the job was dropped (stopping, or the queue is full).
  bool Submit(std::function<void()> job);
  // Notes that `revision` exists and makes sure someone fetches it.
  void Want(int64_t document_key, int64_t revision);
  void FetchLoop(int64_t document_key);
  void Distribute(int64_t document_key, const RevisionBatch& batch);
  void CatchUp(const std::shared_ptr<Watcher>& watcher);
  // Ends the streams of watchers whose access (or session) has ended.
  void RecheckAccess(std::vector<std::shared_ptr<Watcher>> watchers,
                     std::atomic<int>* running_jobs = nullptr);
  // RecheckAccess for every watcher, skipped while the previous round still runs so that
  // rounds never queue up behind a slow database ahead of live changes.
  void RecheckEveryone(std::vector<std::shared_ptr<Watcher>> watchers);
  // Watchers of documents about `person_id` through someone else's relationship.
  std::vector<std::shared_ptr<Watcher>> WatchersAbout(const std::string& person_id) const;
  // Ends the watches of a signed-out session.
  void EndSession(const std::string& session_id);
  // Records this instance's presence of a person (nothing when it did not change) and
  // lets everyone know.
  void WritePresence(int64_t document_key, const std::string& person_id, bool present,
                     bool editing);
  // Sends the current presence to every watcher of the document; broadcasts requested
  // while one is under way are folded into one more.
  void BroadcastPresence(int64_t document_key);
  void BroadcastAgreement(int64_t document_key);
  void PollAll();
  // Audits what each of `watchers` delivered since its last row (on the pool).
  void AuditDelivered(std::vector<std::shared_ptr<Watcher>> watchers);
  // What each of `watchers` delivered since its last row, taken (so written once).
  std::vector<StreamRead> TakeDelivered(const std::vector<std::shared_ptr<Watcher>>& watchers);
  // Writes read rows now, in this thread.
  void RecordDelivered(const std::vector<StreamRead>& reads);
  void Tick();
  std::vector<std::shared_ptr<Watcher>> WatchersOf(int64_t document_key) const;
  std::vector<std::shared_ptr<Watcher>> AllWatchers() const;
  // The reader as of now, for a check made on their behalf.
  Caller Fresh(const Caller& reader) const;

  DocumentFeed& feed_;
  PresenceBoard& presence_;
  const Clock& clock_;
  const Options options_;
  Doorbell* doorbell_ = nullptr;
  std::unique_ptr<WorkerPool> pool_;

  mutable absl::Mutex mutex_;
  std::map<int64_t, Channel> channels_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, int> open_streams_ ABSL_GUARDED_BY(mutex_);  // by person id
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Each watcher's next timed review, and the reviews by instant (an entry whose instant
  // is no longer its watcher's is stale and skipped).
  std::map<const Watcher*, absl::Time> review_at_ ABSL_GUARDED_BY(mutex_);
  std::multimap<absl::Time, std::weak_ptr<Watcher>> reviews_ ABSL_GUARDED_BY(mutex_);
  std::atomic<uint64_t> access_epoch_{0};        // see AccessEpoch
  std::atomic<int> full_recheck_jobs_{0};        // jobs of the last RecheckEveryone not yet done
  std::atomic<bool> full_recheck_again_{false};  // one was asked for while they ran
  std::thread timer_;
};

}  // namespace coplan
