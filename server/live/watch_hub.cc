#include "server/live/watch_hub.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace coplan {
namespace {

constexpr int kFetchBatch = 500;

absl::Status ShuttingDown() {
  return absl::UnavailableError("the server is shutting down; watch again to resume");
}

absl::Status SignedOut() {
  return absl::UnauthenticatedError("this session has ended (signed out); sign in again");
}

// How a failed access re-check ends a stream: no access looks like no document.
absl::Status AccessEnded(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnauthenticated) return status;
  if (status.code() == absl::StatusCode::kNotFound ||
      status.code() == absl::StatusCode::kPermissionDenied) {
    return absl::NotFoundError("the document is no longer shared with you (or no longer exists)");
  }
  return absl::UnavailableError("the watch was interrupted; watch again to resume");
}

}  // namespace

WatchHub::WatchHub(DocumentFeed& feed, PresenceBoard& presence, const Clock& clock, Options options)
    : feed_(feed), presence_(presence), clock_(clock), options_(std::move(options)) {
  pool_ = std::make_unique<WorkerPool>(options_.threads, 1000000);
}

WatchHub::~WatchHub() { Stop(); }

void WatchHub::Start() {
  timer_ = std::thread([this] { Tick(); });
}

void WatchHub::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (timer_.joinable()) timer_.join();
  const std::vector<std::shared_ptr<Watcher>> watchers = AllWatchers();
  for (const auto& watcher : watchers) watcher->stream().End(ShuttingDown());
  pool_->Shutdown();
  // The last read rows, here while the database is there: the streams' own ends come
  // later, on gRPC's threads. (A write still in flight now goes unaudited.)
  RecordDelivered(TakeDelivered(watchers));
  (void)presence_.Clear();
}

Caller WatchHub::Fresh(const Caller& reader) const {
  Caller caller = reader;
  caller.now = clock_.Now();
  caller.deadline = absl::Now() + absl::Seconds(10);
  return caller;
}

bool WatchHub::Submit(std::function<void()> job) {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return false;
  }
  if (pool_->TrySubmit(std::move(job))) return true;
  Log(LogLevel::kError, "watch_hub_overloaded");
  return false;
}

void WatchHub::Ring(DoorbellMessage message) {
  if (doorbell_ != nullptr) doorbell_->Ring(std::move(message));
}

size_t WatchHub::watcher_count() const {
  absl::MutexLock lock(&mutex_);
  size_t count = 0;
  for (const auto& [key, channel] : channels_) count += channel.watchers.size();
  return count;
}

WatchHub::Use WatchHub::use() const {
  Use use;
  use.followed_documents = watcher_count();
  absl::MutexLock lock(&mutex_);
  for (const auto& [person, streams] : open_streams_) use.streams += streams;
  return use;
}

std::vector<std::shared_ptr<Watcher>> WatchHub::WatchersOf(int64_t document_key) const {
  absl::MutexLock lock(&mutex_);
  auto found = channels_.find(document_key);
  if (found == channels_.end()) return {};
  return found->second.watchers;
}

std::vector<std::shared_ptr<Watcher>> WatchHub::AllWatchers() const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::shared_ptr<Watcher>> all;
  for (const auto& [key, channel] : channels_) {
    all.insert(all.end(), channel.watchers.begin(), channel.watchers.end());
  }
  return all;
}

absl::Status WatchHub::Watch(EventSink& sink, WatchTarget target, int64_t start_revision,
                             std::optional<v1::Document> snapshot) {
  COPLAN_ASSIGN_OR_RETURN(std::shared_ptr<WatchStream> stream,
                          OpenStream(sink, WatchStream::Kind::kSingle, target.reader.person_id));
  Follow(stream, 0, std::move(target), start_revision, std::move(snapshot));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<WatchStream>> WatchHub::OpenStream(EventSink& sink,
                                                                  WatchStream::Kind kind,
                                                                  const std::string& person_id) {
  {
    absl::MutexLock lock(&mutex_);
    int& open = open_streams_[person_id];
    if (open >= options_.max_streams_per_person) {
      if (open == 0) open_streams_.erase(person_id);
      absl::Status refused = absl::ResourceExhaustedError(absl::StrCat(
          "you have ", options_.max_streams_per_person,
          " watch or sync streams open on this server already; close one (a device's one "
          "sync stream carries up to 100 documents)"));
      AttachErrorInfo(refused, reason::kTooManyStreams,
                      {{"max_streams", absl::StrCat(options_.max_streams_per_person)}});
      return refused;
    }
    ++open;
  }
  auto stream = std::make_shared<WatchStream>(&sink, options_.queue_limit, kind);
  stream->OnClosed([this, person_id] { StreamClosed(person_id); });
  sink.Bind(stream);
  return stream;
}

void WatchHub::StreamClosed(const std::string& person_id) {
  absl::MutexLock lock(&mutex_);
  auto found = open_streams_.find(person_id);
  if (found != open_streams_.end() && --found->second <= 0) open_streams_.erase(found);
}

std::shared_ptr<Watcher> WatchHub::Follow(const std::shared_ptr<WatchStream>& stream,
                                          WatchStream::Target id, WatchTarget target,
                                          int64_t start_revision,
                                          std::optional<v1::Document> snapshot) {
  if (!stream->AddTarget(id, start_revision)) return nullptr;
  auto watcher = std::make_shared<Watcher>(std::move(target), stream, id);
  Attach(watcher, std::move(snapshot));
  return watcher;
}

void WatchHub::Unfollow(const std::shared_ptr<Watcher>& watcher) {
  watcher->stream().RemoveTarget(watcher->id());
  Detach(watcher);
}

void WatchHub::Attach(const std::shared_ptr<Watcher>& watcher,
                      std::optional<v1::Document> snapshot) {
  const int64_t start_revision = watcher->last_queued();
  watcher->stream().OfferStart(watcher->id(),
                               {watcher->target().current_revision, watcher->target().shown_until});
  if (snapshot) {
    auto event = std::make_shared<v1::WatchEvent>();
    *event->mutable_snapshot() = std::move(*snapshot);
    watcher->OfferOther(std::move(event));
  }
  const int64_t key = watcher->document_key();
  const std::string& person = watcher->reader().person_id;
  bool behind = false;
  bool presence_changed = false;
  bool editing_now = false;
  std::shared_ptr<const PresenceView> current_presence;
  bool stopping;
  {
    absl::MutexLock lock(&mutex_);
    stopping = stopping_;
    if (!stopping) {
      Channel& channel = channels_[key];
      if (channel.watchers.empty()) {
        // Nobody follows the channel yet (or any more): it starts at the document's
        // current revision, and a newcomer resuming from further back catches up by
        // itself, paced by its own queue. Handing it the backlog as live changes would
        // overflow it: a phone back online after a hundred edits is not a slow reader.
        channel.name = watcher->name();
        const int64_t now = std::max(start_revision, watcher->target().current_revision);
        channel.fetched = std::max(channel.fetched, now);
        channel.wanted = std::max(channel.wanted, channel.fetched);
      }
      channel.watchers.push_back(watcher);
      // A fetch in flight may hand out revisions past our start before it counts them as
      // fetched, and without us: read the log ourselves rather than wait for the next commit.
      behind = channel.fetching || start_revision < channel.fetched;
      LocalPresence& local = channel.present[person];
      presence_changed = local.streams == 0 || (watcher->editing() && local.editing_streams == 0);
      ++local.streams;
      if (watcher->editing()) ++local.editing_streams;
      editing_now = local.editing_streams > 0;
      current_presence = channel.presence;
    }
  }
  if (stopping) {
    // Stop() ends only the watchers attached before it.
    watcher->stream().End(ShuttingDown());
    return;
  }
  // Registered once in the channel, so that an end that came meanwhile (the call
  // cancelled during set-up) detaches at once, and any later one when it happens.
  std::weak_ptr<Watcher> weak = watcher;
  watcher->stream().OnClosed([this, weak] {
    if (auto closed = weak.lock()) Detach(closed);
  });
  ScheduleReview(watcher, watcher->target().access_ends);
  // An access change or session end heard of since the reader's access was checked found
  // no registered watcher to end: check this one now rather than at the next periodic check.
  if (access_epoch_.load() != watcher->target().access_epoch) RecheckAccess({watcher});
  if (behind) CatchUp(watcher);
  // A commit between reading the start and joining the channel must not wait for the poll.
  Submit([this, key] {
    auto latest = feed_.LatestRevisions({key});
    if (latest.ok() && latest->count(key)) Want(key, latest->at(key));
  });
  if (presence_changed) {
    WritePresence(key, person, true, editing_now);
  } else if (current_presence != nullptr) {
    watcher->OfferPresence(*current_presence);  // nothing changed: just tell the newcomer
  } else {
    Submit([this, key] { BroadcastPresence(key); });
  }
}

void WatchHub::Detach(const std::shared_ptr<Watcher>& watcher) {
  AuditDelivered({watcher});  // the stream's last read row for this document
  bool stopping;
  bool presence_changed = false;
  bool still_present = false, still_editing = false;
  const std::string& person = watcher->reader().person_id;
  {
    absl::MutexLock lock(&mutex_);
    stopping = stopping_;
    review_at_.erase(watcher.get());
    auto found = channels_.find(watcher->document_key());
    if (found == channels_.end()) return;
    Channel& channel = found->second;
    auto& watchers = channel.watchers;
    const size_t before = watchers.size();
    watchers.erase(std::remove(watchers.begin(), watchers.end(), watcher), watchers.end());
    if (watchers.size() == before) return;  // never attached
    auto local = channel.present.find(person);
    if (local != channel.present.end()) {
      const bool was_editing = local->second.editing_streams > 0;
      --local->second.streams;
      if (watcher->editing()) --local->second.editing_streams;
      still_present = local->second.streams > 0;
      still_editing = local->second.editing_streams > 0;
      presence_changed = !still_present || (was_editing && !still_editing);
      if (!still_present) channel.present.erase(local);
    }
    if (watchers.empty() && !channel.fetching && !channel.presence_running) channels_.erase(found);
  }
  if (presence_changed && !stopping) {
    WritePresence(watcher->document_key(), person, still_present, still_editing);
  }
}

void WatchHub::WritePresence(int64_t document_key, const std::string& person_id, bool present,
                             bool editing) {
  Submit([this, document_key, person_id, present, editing] {
    if (!presence_.Set(document_key, person_id, present, editing).ok()) return;
    Ring(DoorbellMessage::Presence(document_key));
    BroadcastPresence(document_key);
  });
}

void WatchHub::BroadcastPresence(int64_t document_key) {
  {
    absl::MutexLock lock(&mutex_);
    auto found = channels_.find(document_key);
    if (found == channels_.end()) return;
    if (found->second.presence_running) {
      found->second.presence_again = true;
      return;
    }
    found->second.presence_running = true;
  }
  for (;;) {
    auto loaded = presence_.Load(document_key);
    std::shared_ptr<PresenceView> event;
    if (loaded.ok()) {
      auto update = std::make_shared<v1::WatchEvent>();
      *update->mutable_presence() = std::move(loaded->everyone);
      event = std::make_shared<PresenceView>();
      event->everyone = std::move(update);
      event->shown_to_all = std::move(loaded->shown_to_all);
    }
    std::vector<std::shared_ptr<Watcher>> watchers;
    {
      absl::MutexLock lock(&mutex_);
      auto found = channels_.find(document_key);
      if (found == channels_.end()) return;
      Channel& channel = found->second;
      if (event != nullptr) {
        channel.presence = event;
        watchers = channel.watchers;
      }
    }
    if (event != nullptr) {
      for (const auto& watcher : watchers) watcher->OfferPresence(*event);
    }
    absl::MutexLock lock(&mutex_);
    auto found = channels_.find(document_key);
    if (found == channels_.end()) return;
    Channel& channel = found->second;
    if (channel.presence_again && event != nullptr) {
      channel.presence_again = false;
      continue;
    }
    channel.presence_running = false;
    if (channel.watchers.empty() && !channel.fetching) channels_.erase(found);
    return;
  }
}

void WatchHub::BroadcastAgreement(int64_t document_key) {
  auto watchers = WatchersOf(document_key);
  if (watchers.empty()) return;
  auto agreement = feed_.Agreement(document_key);
  if (!agreement.ok() || !agreement->has_value()) return;
  auto event = std::make_shared<v1::WatchEvent>();
  *event->mutable_agreement() = std::move(**agreement);
  for (const auto& watcher : watchers) watcher->OfferOther(event);
}

void WatchHub::Want(int64_t document_key, int64_t revision) {
  {
    absl::MutexLock lock(&mutex_);
    auto found = channels_.find(document_key);
    if (found == channels_.end()) return;
    Channel& channel = found->second;
    channel.wanted = std::max(channel.wanted, revision);
    if (channel.fetching || channel.wanted <= channel.fetched) return;
    channel.fetching = true;
  }
  if (!Submit([this, document_key] { FetchLoop(document_key); })) {
    absl::MutexLock lock(&mutex_);
    auto found = channels_.find(document_key);
    if (found != channels_.end()) found->second.fetching = false;  // the poll tries again
  }
}

void WatchHub::FetchLoop(int64_t document_key) {
  for (;;) {
    int64_t from;
    int64_t wanted_before;
    {
      absl::MutexLock lock(&mutex_);
      auto found = channels_.find(document_key);
      if (found == channels_.end()) return;
      Channel& channel = found->second;
      if (stopping_ || channel.fetched >= channel.wanted || channel.watchers.empty()) {
        channel.fetching = false;
        if (channel.watchers.empty() && !channel.presence_running) channels_.erase(found);
        return;
      }
      from = channel.fetched;
      wanted_before = channel.wanted;
    }
    auto read = feed_.ReadAfter(document_key, from, kFetchBatch);
    if (!read.ok() || !read->has_value()) {
      absl::MutexLock lock(&mutex_);
      auto found = channels_.find(document_key);
      if (found != channels_.end()) found->second.fetching = false;  // the poll retries
      return;
    }
    const RevisionBatch& batch = ***read;
    const int64_t target = batch.current_revision();
    Distribute(document_key, batch);
    absl::MutexLock lock(&mutex_);
    auto found = channels_.find(document_key);
    if (found == channels_.end()) return;
    Channel& channel = found->second;
    channel.fetched =
        std::max(channel.fetched, batch.revisions().empty() ? target : batch.revisions().back());
    // A revision wanted before the read but beyond what it found does not exist (a stray
    // ring): forget it. One wanted since may have committed after the read: keep it.
    if (channel.wanted == wanted_before) {
      channel.wanted = std::max(channel.fetched, std::min(channel.wanted, target));
    }
  }
}

void WatchHub::Distribute(int64_t document_key, const RevisionBatch& batch) {
  auto watchers = WatchersOf(document_key);
  const std::vector<int64_t>& revisions = batch.revisions();
  if (watchers.empty() || revisions.empty()) return;
  // Readers who see the same parts share the same events.
  struct View {
    std::vector<Watcher::Event> changes;
    Watcher::Event snapshot;  // after the changes, when what is withheld changed
  };
  std::map<std::string, View> views;
  for (const auto& watcher : watchers) {
    const std::string reader = watcher->reader().person_name();
    const std::string view_key = batch.ViewKey(reader, watcher->see_withholdings());
    auto view = views.find(view_key);
    if (view == views.end()) {
      View made;
      for (v1::Revision& revision : batch.PresentFor(reader, watcher->see_withholdings())) {
        auto event = std::make_shared<v1::WatchEvent>();
        *event->mutable_change() = std::move(revision);
        made.changes.push_back(std::move(event));
      }
      if (auto document = batch.SnapshotFor(reader, watcher->see_withholdings())) {
        auto event = std::make_shared<v1::WatchEvent>();
        *event->mutable_snapshot() = std::move(*document);
        made.snapshot = std::move(event);
      }
      view = views.emplace(view_key, std::move(made)).first;
    }
    bool delivered = true;
    for (size_t i = 0; i < revisions.size() && i < view->second.changes.size(); ++i) {
      const Watcher::Offer offer = watcher->OfferChange(revisions[i], view->second.changes[i]);
      if (offer == Watcher::Offer::kGap) {
        CatchUp(watcher);  // the catch-up sends the snapshot too
        delivered = false;
        break;
      }
      if (offer == Watcher::Offer::kClosed) {
        delivered = false;
        break;
      }
    }
    if (delivered && view->second.snapshot != nullptr) watcher->OfferOther(view->second.snapshot);
  }
}

void WatchHub::CatchUp(const std::shared_ptr<Watcher>& watcher) {
  if (!watcher->BeginCatchUp()) return;  // the running one will read once more
  const bool submitted = Submit([this, watcher] {
    // Reads the log as this reader (access checked, withheld parts removed), as fast as
    // the watcher drains its queue, until it has everything that exists.
    for (;;) {
      if (watcher->ended()) break;
      const size_t slots = std::min<size_t>(watcher->stream().free_slots(), 200);
      if (slots == 0) {
        watcher->AbandonCatchUp();
        watcher->stream().CallWhenDrained([this, watcher] { CatchUp(watcher); });
        return;
      }
      const int64_t after = watcher->last_queued();
      auto changes = feed_.ChangesFor(Fresh(watcher->reader()), watcher->name(), after,
                                      static_cast<int>(slots));
      if (!changes.ok()) {
        watcher->End(AccessEnded(changes.status()));
        break;
      }
      // Access may now end at another instant than when the watch began (the grant it
      // began under was revoked, another with an expiry remains).
      ScheduleReview(watcher, changes->access_ends);
      bool full = false;
      for (auto& change : changes->revisions) {
        const int64_t revision = change.revision();
        auto event = std::make_shared<v1::WatchEvent>();
        *event->mutable_change() = std::move(change);
        const Watcher::Offer offer =
            watcher->OfferChange(revision, std::move(event), /*catch_up=*/true);
        if (offer == Watcher::Offer::kClosed) {
          watcher->AbandonCatchUp();
          return;
        }
        if (offer == Watcher::Offer::kFull) full = true;
      }
      if (changes->snapshot && !full) {
        auto event = std::make_shared<v1::WatchEvent>();
        *event->mutable_snapshot() = std::move(*changes->snapshot);
        watcher->OfferOther(std::move(event));
      }
      if (full || changes->revisions.size() == slots) continue;  // more may wait in the log
      // Caught up with what existed when read; the channel may have moved on since.
      int64_t fetched = 0;
      {
        absl::MutexLock lock(&mutex_);
        auto found = channels_.find(watcher->document_key());
        if (found != channels_.end()) fetched = found->second.fetched;
      }
      if (!changes->revisions.empty() && fetched > watcher->last_queued()) continue;
      if (watcher->FinishCatchUp()) return;  // otherwise a gap was reported meanwhile
    }
    watcher->AbandonCatchUp();
  });
  if (!submitted) watcher->AbandonCatchUp();
}

void WatchHub::RecheckEveryone(std::vector<std::shared_ptr<Watcher>> watchers) {
  if (full_recheck_jobs_.load() > 0) {
    // The running round may have checked some readers before what prompted this one:
    // run once more when it ends.
    full_recheck_again_ = true;
    return;
  }
  RecheckAccess(std::move(watchers), &full_recheck_jobs_);
}

void WatchHub::RecheckAccess(std::vector<std::shared_ptr<Watcher>> watchers,
                             std::atomic<int>* running_jobs) {
  // One check per reader, session and document: watchers that share them share the answer.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::shared_ptr<Watcher>>>
      groups;
  for (auto& watcher : watchers) {
    if (watcher->ended()) continue;
    const Caller& reader = watcher->reader();
    groups[{reader.person_id, reader.session_id, FormatDocumentName(watcher->name())}].push_back(
        std::move(watcher));
  }
  // In jobs of a few dozen, so that re-checks never hold the hub's threads for long.
  constexpr size_t kGroupsPerJob = 32;
  std::vector<std::vector<std::shared_ptr<Watcher>>> job;
  auto flush = [&] {
    if (job.empty()) return;
    if (running_jobs != nullptr) running_jobs->fetch_add(1);
    const bool submitted = Submit([this, running_jobs, batch = std::move(job)] {
      for (const auto& group : batch) {
        const std::shared_ptr<Watcher>& first = group.front();
        auto check =
            feed_.ChangesFor(Fresh(first->reader()), first->name(), first->last_queued(), 0);
        if (check.ok()) {
          // Still allowed, perhaps through another fact than before: its end is the one
          // to wait for now.
          for (const auto& watcher : group) ScheduleReview(watcher, check->access_ends);
          continue;
        }
        if (check.status().code() == absl::StatusCode::kUnavailable ||
            check.status().code() == absl::StatusCode::kDeadlineExceeded) {
          continue;  // cannot tell now: the next re-check will
        }
        for (const auto& watcher : group) watcher->End(AccessEnded(check.status()));
      }
      if (running_jobs != nullptr && running_jobs->fetch_sub(1) == 1 &&
          running_jobs == &full_recheck_jobs_ && full_recheck_again_.exchange(false)) {
        RecheckEveryone(AllWatchers());
      }
    });
    if (!submitted && running_jobs != nullptr) running_jobs->fetch_sub(1);
    job.clear();
  };
  for (auto& [key, group] : groups) {
    job.push_back(std::move(group));
    if (job.size() == kGroupsPerJob) flush();
  }
  flush();
}

std::vector<std::shared_ptr<Watcher>> WatchHub::WatchersAbout(const std::string& person_id) const {
  std::vector<std::shared_ptr<Watcher>> affected;
  absl::MutexLock lock(&mutex_);
  for (const auto& [key, channel] : channels_) {
    if (channel.name.person_id != person_id) continue;
    for (const auto& watcher : channel.watchers) {
      if (watcher->via() != Relationship::kSelf) affected.push_back(watcher);
    }
  }
  return affected;
}

void WatchHub::EndSession(const std::string& session_id) {
  if (session_id.empty()) return;
  for (const auto& watcher : AllWatchers()) {
    // The session is the whole stream's, not one target's.
    if (watcher->reader().session_id == session_id) watcher->stream().End(SignedOut());
  }
}

void WatchHub::ScheduleReview(const std::shared_ptr<Watcher>& watcher,
                              std::optional<absl::Time> access_ends) {
  absl::Time when = watcher->reader().token_expire;
  if (access_ends && *access_ends < when) when = *access_ends;
  if (when == absl::InfiniteFuture()) return;
  absl::MutexLock lock(&mutex_);
  if (stopping_ || watcher->ended()) return;
  auto [entry, inserted] = review_at_.emplace(watcher.get(), when);
  if (!inserted) {
    if (entry->second == when) return;  // scheduled already
    entry->second = when;
  }
  reviews_.emplace(when, watcher);
}

void WatchHub::RunDueReviews() {
  const absl::Time now = clock_.Now();
  std::vector<std::shared_ptr<Watcher>> due;
  {
    absl::MutexLock lock(&mutex_);
    while (!reviews_.empty() && reviews_.begin()->first <= now) {
      const absl::Time when = reviews_.begin()->first;
      std::shared_ptr<Watcher> watcher = reviews_.begin()->second.lock();
      reviews_.erase(reviews_.begin());
      if (watcher == nullptr) continue;
      auto scheduled = review_at_.find(watcher.get());
      if (scheduled == review_at_.end() || scheduled->second != when) continue;  // stale
      review_at_.erase(scheduled);
      due.push_back(std::move(watcher));
    }
  }
  std::vector<std::shared_ptr<Watcher>> recheck;
  for (auto& watcher : due) {
    if (watcher->reader().token_expire <= now) {
      watcher->stream().End(
          absl::UnauthenticatedError("the token has expired; watch again with a fresh token"));
    } else {
      recheck.push_back(std::move(watcher));
    }
  }
  if (!recheck.empty()) RecheckAccess(std::move(recheck));
}

void WatchHub::RevisionCommitted(int64_t document_key, int64_t revision) {
  Ring(DoorbellMessage::Revision(document_key, revision));
  Want(document_key, revision);
}

void WatchHub::AgreementChanged(int64_t document_key) {
  Ring(DoorbellMessage::Agreement(document_key));
  Submit([this, document_key] { BroadcastAgreement(document_key); });
}

void WatchHub::AccessChanged(const std::string& person_id) {
  access_epoch_.fetch_add(1);
  Ring(DoorbellMessage::Access(person_id));
  RecheckAccess(WatchersAbout(person_id));
}

void WatchHub::SessionEnded(const std::string& session_id) {
  access_epoch_.fetch_add(1);
  Ring(DoorbellMessage::Session(session_id));
  EndSession(session_id);
}

void WatchHub::OnRing(const DoorbellMessage& message) {
  const int64_t key = message.document_key;
  switch (message.kind) {
    case DoorbellMessage::Kind::kRevision:
      Want(key, message.revision);
      break;
    case DoorbellMessage::Kind::kAgreement:
      if (!WatchersOf(key).empty()) Submit([this, key] { BroadcastAgreement(key); });
      break;
    case DoorbellMessage::Kind::kPresence:
      if (!WatchersOf(key).empty()) Submit([this, key] { BroadcastPresence(key); });
      break;
    case DoorbellMessage::Kind::kAccess:
      access_epoch_.fetch_add(1);
      RecheckAccess(WatchersAbout(message.id));  // without ringing again
      break;
    case DoorbellMessage::Kind::kSession:
      access_epoch_.fetch_add(1);
      EndSession(message.id);
      break;
  }
}

void WatchHub::OnListening() {
  // Rings sent while we were not listening are lost: revisions, revoked access and
  // sign-outs among them. Look for all three now rather than at the next timer.
  PollAll();
  RecheckEveryone(AllWatchers());
}

void WatchHub::PollAll() {
  std::vector<int64_t> keys;
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [key, channel] : channels_) keys.push_back(key);
  }
  if (keys.empty()) return;
  Submit([this, keys] {
    auto latest = feed_.LatestRevisions(keys);
    if (!latest.ok()) return;
    for (const auto& [key, revision] : *latest) Want(key, revision);
  });
}

std::vector<StreamRead> WatchHub::TakeDelivered(
    const std::vector<std::shared_ptr<Watcher>>& watchers) {
  std::vector<StreamRead> reads;
  for (const auto& watcher : watchers) {
    if (auto range = watcher->stream().TakeDelivered(watcher->id())) {
      reads.push_back(StreamRead{watcher->reader(), watcher->name(), range->first, range->second});
    }
  }
  return reads;
}

void WatchHub::RecordDelivered(const std::vector<StreamRead>& reads) {
  // Fan-out shares the hub's pool: a round's rows go in statements of up to 1000.
  for (size_t first = 0; first < reads.size(); first += 1000) {
    const size_t last = std::min(reads.size(), first + 1000);
    absl::Status status =
        feed_.RecordDelivered(std::vector<StreamRead>(reads.begin() + first, reads.begin() + last));
    if (!status.ok()) {
      // The changes were delivered already; the failure is not silent.
      Log(LogLevel::kError, "stream_read_audit_failed")
          .Num("rows", static_cast<double>(last - first))
          .Str("error", std::string(status.message()));
    }
  }
}

void WatchHub::AuditDelivered(std::vector<std::shared_ptr<Watcher>> watchers) {
  {
    // In a shutdown Stop writes the last rows itself: a stream's end comes later, on
    // gRPC's threads, when what the rows are written with may be gone.
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
  }
  std::vector<StreamRead> reads = TakeDelivered(watchers);
  if (reads.empty()) return;
  auto record = [this, reads = std::move(reads)] { RecordDelivered(reads); };
  // Off the caller's thread when the pool takes it; with the queue full, here and now: a
  // delivered read must not go unaudited to spare a thread a round trip.
  if (!Submit(record)) record();
}

void WatchHub::Tick() {
  // Timer periods are real time; whether a token has expired is a rule, decided by the clock.
  absl::Time next_poll = absl::Now() + options_.poll_interval;
  absl::Time next_heartbeat = absl::Now() + options_.presence_heartbeat;
  absl::Time next_recheck = absl::Now() + options_.access_recheck_interval;
  absl::Time next_read_audit = absl::Now() + options_.read_audit_interval;
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(250));
      if (stopping_) return;
    }
    RunDueReviews();
    const absl::Time now = absl::Now();
    if (now >= next_poll) {
      next_poll = now + options_.poll_interval;
      PollAll();
    }
    if (now >= next_heartbeat) {
      next_heartbeat = now + options_.presence_heartbeat;
      Submit([this] { (void)presence_.Heartbeat(); });
    }
    if (now >= next_read_audit) {
      next_read_audit = now + options_.read_audit_interval;
      AuditDelivered(AllWatchers());
    }
    if (now >= next_recheck) {
      next_recheck = now + options_.access_recheck_interval;
      // Every watcher, not only those reading by grant or proxy: care-team changes and
      // sign-outs on other instances are rung, but a ring can be lost.
      const absl::Time rule_now = clock_.Now();
      std::vector<std::shared_ptr<Watcher>> live;
      for (const auto& watcher : AllWatchers()) {
        if (watcher->reader().token_expire <= rule_now) {
          watcher->stream().End(
              absl::UnauthenticatedError("the token has expired; watch again with a fresh token"));
        } else {
          live.push_back(watcher);
        }
      }
      RecheckEveryone(std::move(live));
    }
  }
}

}  // namespace coplan
