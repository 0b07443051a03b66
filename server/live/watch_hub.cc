#include "server/live/watch_hub.h"

#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/log.h"

namespace coplan {
namespace {

constexpr int kFetchBatch = 500;

grpc::Status Unavailable(const std::string& message) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, message);
}

// How a failed access re-check ends a stream: no access looks like no document.
grpc::Status AccessEnded(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(status.message()));
  }
  if (status.code() == absl::StatusCode::kNotFound ||
      status.code() == absl::StatusCode::kPermissionDenied) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "the document is no longer shared with you (or no longer exists)");
  }
  return Unavailable("the watch was interrupted; watch again to resume");
}

}  // namespace

WatchHub::WatchHub(Database& db, DocumentStore& store, PresenceStore& presence,
                   DocumentService& documents, Options options)
    : db_(db), store_(store), presence_(presence), documents_(documents), options_(std::move(options)) {
  pool_ = std::make_unique<WorkerPool>(options_.threads, 1000000);
}

WatchHub::~WatchHub() { Stop(); }

void WatchHub::Start() {
  timer_ = std::thread([this] { Tick(); });
}

void WatchHub::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (timer_.joinable()) timer_.join();
  for (const auto& watcher : AllWatchers()) {
    watcher->End(Unavailable("the server is shutting down; watch again to resume"));
  }
  pool_->Shutdown();
  (void)db_.Write(absl::Now() + absl::Seconds(5), [&](pqxx::work& tx) {
    presence_.Clear(tx, options_.instance_id);
    return absl::OkStatus();
  });
}

Caller WatchHub::Fresh(const Caller& reader) {
  Caller caller = reader;
  caller.now = absl::Now();
  caller.deadline = caller.now + absl::Seconds(10);
  return caller;
}

bool WatchHub::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
  }
  if (pool_->TrySubmit(std::move(job))) return true;
  Log(LogLevel::kError, "watch_hub_overloaded");
  return false;
}

void WatchHub::Ring(const std::string& message) {
  if (doorbell_ != nullptr) doorbell_->Ring(message);
}

size_t WatchHub::watcher_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t count = 0;
  for (const auto& [key, channel] : channels_) count += channel.watchers.size();
  return count;
}

std::vector<std::shared_ptr<Watcher>> WatchHub::WatchersOf(int64_t document_key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = channels_.find(document_key);
  if (found == channels_.end()) return {};
  return found->second.watchers;
}

std::vector<std::shared_ptr<Watcher>> WatchHub::AllWatchers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<Watcher>> all;
  for (const auto& [key, channel] : channels_) {
    all.insert(all.end(), channel.watchers.begin(), channel.watchers.end());
  }
  return all;
}

void WatchHub::Attach(const std::shared_ptr<Watcher>& watcher, const WatchStart& start) {
  if (start.snapshot) {
    watcher->SetStartRevision(start.revision);
    auto event = std::make_shared<v1::WatchEvent>();
    *event->mutable_snapshot() = *start.snapshot;
    watcher->OfferOther(event);
  }
  bool behind = watcher->last_queued() < start.revision;
  bool presence_changed = false;
  bool editing_now = false;
  Watcher::Event current_presence;
  const std::string& person = watcher->reader().person_id;
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (watcher->detached()) return;  // the call ended while it was being set up
    stopping = stopping_;  // Stop() ends only the watchers attached before it
    if (!stopping) {
      watcher->MarkAttached();
      Channel& channel = channels_[start.document_key];
      if (channel.watchers.empty() && channel.fetched == 0) {
        channel.name = watcher->name;
        channel.fetched = channel.wanted = start.revision;
      }
      channel.watchers.push_back(watcher);
      // A fetch in flight may hand out revisions past our start before it counts them as
      // fetched, and without us: read the log ourselves rather than wait for the next commit.
      behind = behind || channel.fetching || watcher->last_queued() < channel.fetched;
      LocalPresence& local = channel.present[person];
      presence_changed = local.streams == 0 || (watcher->editing && local.editing_streams == 0);
      ++local.streams;
      if (watcher->editing) ++local.editing_streams;
      editing_now = local.editing_streams > 0;
      current_presence = channel.presence;
    }
  }
  if (stopping) {
    // Outside the lock: ending may finish the call inline, which detaches.
    watcher->End(Unavailable("the server is shutting down; watch again to resume"));
    return;
  }
  if (behind) CatchUp(watcher);
  const int64_t key = start.document_key;
  // A commit between reading the start and joining the channel must not wait for the poll.
  Submit([this, key] {
    std::map<int64_t, int64_t> latest;
    if (db_.Read(absl::Now() + absl::Seconds(5), [&](pqxx::nontransaction& tx) {
          latest = store_.LatestRevisions(tx, {key});
          return absl::OkStatus();
        }).ok() &&
        latest.count(key)) {
      Want(key, latest[key]);
    }
  });
  if (presence_changed) {
    WritePresence(key, person, true, editing_now);
  } else if (current_presence != nullptr) {
    watcher->OfferPresence(current_presence);  // nothing changed: just tell the newcomer
  } else {
    Submit([this, key] { BroadcastPresence(key); });
  }
}

void WatchHub::Detach(const std::shared_ptr<Watcher>& watcher) {
  bool stopping;
  bool presence_changed = false;
  bool still_present = false, still_editing = false;
  std::string person;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping = stopping_;
    watcher->MarkDetached();
    // A call that ended while it was being set up never joined a channel, and its
    // fields may still be being written: leave them alone.
    if (!watcher->attached()) return;
    person = watcher->reader().person_id;
    auto found = channels_.find(watcher->document_key);
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
      if (watcher->editing) --local->second.editing_streams;
      still_present = local->second.streams > 0;
      still_editing = local->second.editing_streams > 0;
      presence_changed = !still_present || (was_editing && !still_editing);
      if (!still_present) channel.present.erase(local);
    }
    if (watchers.empty() && !channel.fetching && !channel.presence_running) channels_.erase(found);
  }
  if (presence_changed && !stopping) {
    WritePresence(watcher->document_key, person, still_present, still_editing);
  }
}

void WatchHub::WritePresence(int64_t document_key, const std::string& person_id, bool present,
                             bool editing) {
  Submit([this, document_key, person_id, present, editing] {
    absl::Status status = db_.Write(absl::Now() + absl::Seconds(5), [&](pqxx::work& tx) {
      presence_.Set(tx, document_key, options_.instance_id, person_id, present, editing);
      return absl::OkStatus();
    });
    if (!status.ok()) return;
    Ring(absl::StrCat("p:", document_key));
    BroadcastPresence(document_key);
  });
}

void WatchHub::BroadcastPresence(int64_t document_key) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = channels_.find(document_key);
    if (found == channels_.end()) return;
    if (found->second.presence_running) {
      found->second.presence_again = true;
      return;
    }
    found->second.presence_running = true;
  }
  for (;;) {
    auto event = std::make_shared<v1::WatchEvent>();
    absl::Status status = db_.Read(absl::Now() + absl::Seconds(5), [&](pqxx::nontransaction& tx) {
      *event->mutable_presence() = presence_.Load(tx, document_key, options_.presence_stale_after);
      return absl::OkStatus();
    });
    std::vector<std::shared_ptr<Watcher>> watchers;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = channels_.find(document_key);
      if (found == channels_.end()) return;
      Channel& channel = found->second;
      if (status.ok()) {
        channel.presence = event;
        watchers = channel.watchers;
      }
    }
    for (const auto& watcher : watchers) watcher->OfferPresence(event);
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = channels_.find(document_key);
    if (found == channels_.end()) return;
    Channel& channel = found->second;
    if (channel.presence_again && status.ok()) {
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
  std::optional<StoredDocument> document;
  absl::Status status = db_.Read(absl::Now() + absl::Seconds(5), [&](pqxx::nontransaction& tx) {
    document = store_.LoadByKey(tx, document_key);
    return absl::OkStatus();
  });
  if (!status.ok() || !document) return;
  auto event = std::make_shared<v1::WatchEvent>();
  *event->mutable_agreement() = document->agreement;
  for (const auto& watcher : watchers) watcher->OfferOther(event);
}

void WatchHub::Want(int64_t document_key, int64_t revision) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = channels_.find(document_key);
    if (found == channels_.end()) return;
    Channel& channel = found->second;
    channel.wanted = std::max(channel.wanted, revision);
    if (channel.fetching || channel.wanted <= channel.fetched) return;
    channel.fetching = true;
  }
  if (!Submit([this, document_key] { FetchLoop(document_key); })) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = channels_.find(document_key);
    if (found != channels_.end()) found->second.fetching = false;  // the poll tries again
  }
}

void WatchHub::FetchLoop(int64_t document_key) {
  for (;;) {
    int64_t from;
    int64_t wanted_before;
    {
      std::lock_guard<std::mutex> lock(mutex_);
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
    std::optional<StoredDocument> current;
    std::vector<RevisionRow> rows;
    int64_t target = from;
    absl::Status status = db_.Read(absl::Now() + absl::Seconds(10), [&](pqxx::nontransaction& tx) {
      // The row first: every revision up to its revision has committed and is readable.
      current = store_.LoadByKey(tx, document_key);
      if (current) {
        target = current->revision;
        if (target > from) {
          rows = store_.ListRevisions(tx, document_key, from,
                                      static_cast<int>(std::min<int64_t>(kFetchBatch, target - from)));
        }
      }
      return absl::OkStatus();
    });
    if (!status.ok() || !current) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = channels_.find(document_key);
      if (found != channels_.end()) found->second.fetching = false;  // the poll retries
      return;
    }
    Distribute(document_key, rows, *current);
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = channels_.find(document_key);
    if (found == channels_.end()) return;
    Channel& channel = found->second;
    channel.fetched = std::max(channel.fetched, rows.empty() ? target : rows.back().revision.revision());
    // A revision wanted before the read but beyond what it found does not exist (a stray
    // ring): forget it. One wanted since may have committed after the read: keep it.
    if (channel.wanted == wanted_before) {
      channel.wanted = std::max(channel.fetched, std::min(channel.wanted, target));
    }
  }
}

void WatchHub::Distribute(int64_t document_key, const std::vector<RevisionRow>& rows,
                          const StoredDocument& current) {
  auto watchers = WatchersOf(document_key);
  if (watchers.empty() || rows.empty()) return;
  DocumentPtr body = documents_.ParseBody(current.name.collection, current.body);
  // Readers who see the same parts share the same events.
  std::map<std::string, std::vector<Watcher::Event>> views;
  for (const auto& watcher : watchers) {
    std::vector<std::string> withheld;
    if (!watcher->see_withholdings) {
      withheld = documents_.WithheldFrom(*body, watcher->reader().person_name());
    }
    const std::string view_key =
        absl::StrCat(watcher->see_withholdings ? "owner|" : "reader|", absl::StrJoin(withheld, "|"));
    auto view = views.find(view_key);
    if (view == views.end()) {
      std::vector<Watcher::Event> events;
      for (const RevisionRow& row : rows) {
        auto event = std::make_shared<v1::WatchEvent>();
        *event->mutable_change() = documents_.PresentRevisionFor(
            current.name, row, withheld, watcher->see_withholdings, *body, current.revision);
        events.push_back(std::move(event));
      }
      view = views.emplace(view_key, std::move(events)).first;
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const Watcher::Offer offer = watcher->OfferChange(rows[i].revision.revision(), view->second[i]);
      if (offer == Watcher::Offer::kGap) {
        CatchUp(watcher);
        break;
      }
      if (offer == Watcher::Offer::kClosed) break;
    }
  }
}

void WatchHub::CatchUp(const std::shared_ptr<Watcher>& watcher) {
  if (!watcher->BeginCatchUp()) return;  // the running one will read once more
  const bool submitted = Submit([this, watcher] {
    // Reads the log as this reader (access checked, withheld parts removed), as fast as
    // the watcher drains its queue, until it has everything that exists.
    for (;;) {
      if (watcher->ended()) break;
      const size_t slots = std::min<size_t>(watcher->free_slots(), 200);
      if (slots == 0) {
        watcher->AbandonCatchUp();
        watcher->CallWhenDrained([this, watcher] { CatchUp(watcher); });
        return;
      }
      const int64_t after = watcher->last_queued();
      auto changes = documents_.ChangesFor(Fresh(watcher->reader()), watcher->name, after,
                                           static_cast<int>(slots));
      if (!changes.ok()) {
        watcher->End(AccessEnded(changes.status()));
        break;
      }
      bool full = false;
      for (auto& change : *changes) {
        const int64_t revision = change.revision();
        auto event = std::make_shared<v1::WatchEvent>();
        *event->mutable_change() = std::move(change);
        const Watcher::Offer offer = watcher->OfferChange(revision, std::move(event), /*catch_up=*/true);
        if (offer == Watcher::Offer::kClosed) {
          watcher->AbandonCatchUp();
          return;
        }
        if (offer == Watcher::Offer::kFull) full = true;
      }
      if (full || changes->size() == slots) continue;  // more may wait in the log
      // Caught up with what existed when read; the channel may have moved on since.
      int64_t fetched = 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = channels_.find(watcher->document_key);
        if (found != channels_.end()) fetched = found->second.fetched;
      }
      if (!changes->empty() && fetched > watcher->last_queued()) continue;
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
    groups[{reader.person_id, reader.session_id, FormatDocumentName(watcher->name)}].push_back(
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
        auto check = documents_.ChangesFor(Fresh(first->reader()), first->name, first->last_queued(), 0);
        if (check.ok() || check.status().code() == absl::StatusCode::kUnavailable ||
            check.status().code() == absl::StatusCode::kDeadlineExceeded) {
          continue;  // still allowed, or cannot tell now: the next re-check will
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
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, channel] : channels_) {
    if (channel.name.person_id != person_id) continue;
    for (const auto& watcher : channel.watchers) {
      if (watcher->via != Relationship::kSelf) affected.push_back(watcher);
    }
  }
  return affected;
}

void WatchHub::RevisionCommitted(int64_t document_key, int64_t revision) {
  Ring(absl::StrCat("r:", document_key, ":", revision));
  Want(document_key, revision);
}

void WatchHub::AgreementChanged(int64_t document_key) {
  Ring(absl::StrCat("a:", document_key));
  Submit([this, document_key] { BroadcastAgreement(document_key); });
}

void WatchHub::AccessChanged(const std::string& person_id) {
  Ring(absl::StrCat("x:", person_id));
  RecheckAccess(WatchersAbout(person_id));
}

void WatchHub::SessionEnded(const std::string& session_id) {
  Ring(absl::StrCat("s:", session_id));
  for (const auto& watcher : AllWatchers()) {
    if (!session_id.empty() && watcher->reader().session_id == session_id) {
      watcher->End(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                "this session has ended (signed out); sign in again"));
    }
  }
}

void WatchHub::OnRing(const std::string& message) {
  std::vector<std::string> parts = absl::StrSplit(message, ':');
  if (parts.size() < 2) return;
  int64_t key = 0;
  if (parts[0] == "r" && parts.size() == 3) {
    int64_t revision = 0;
    if (absl::SimpleAtoi(parts[1], &key) && absl::SimpleAtoi(parts[2], &revision)) Want(key, revision);
  } else if (parts[0] == "a" && absl::SimpleAtoi(parts[1], &key)) {
    if (!WatchersOf(key).empty()) Submit([this, key] { BroadcastAgreement(key); });
  } else if (parts[0] == "p" && absl::SimpleAtoi(parts[1], &key)) {
    if (!WatchersOf(key).empty()) Submit([this, key] { BroadcastPresence(key); });
  } else if (parts[0] == "x") {
    RecheckAccess(WatchersAbout(parts[1]));  // without ringing again
  } else if (parts[0] == "s") {
    for (const auto& watcher : AllWatchers()) {
      if (watcher->reader().session_id == parts[1]) {
        watcher->End(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "this session has ended (signed out); sign in again"));
      }
    }
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
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [key, channel] : channels_) keys.push_back(key);
  }
  if (keys.empty()) return;
  Submit([this, keys] {
    std::map<int64_t, int64_t> latest;
    absl::Status status = db_.Read(absl::Now() + absl::Seconds(10), [&](pqxx::nontransaction& tx) {
      latest = store_.LatestRevisions(tx, keys);
      return absl::OkStatus();
    });
    if (!status.ok()) return;
    for (const auto& [key, revision] : latest) Want(key, revision);
  });
}

void WatchHub::Tick() {
  absl::Time next_poll = absl::Now() + options_.poll_interval;
  absl::Time next_heartbeat = absl::Now() + options_.presence_heartbeat;
  absl::Time next_recheck = absl::Now() + options_.access_recheck_interval;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (stopping_) break;
    lock.unlock();
    const absl::Time now = absl::Now();
    if (now >= next_poll) {
      next_poll = now + options_.poll_interval;
      PollAll();
    }
    if (now >= next_heartbeat) {
      next_heartbeat = now + options_.presence_heartbeat;
      Submit([this] {
        (void)db_.Write(absl::Now() + absl::Seconds(5), [&](pqxx::work& tx) {
          presence_.Heartbeat(tx, options_.instance_id);
          return absl::OkStatus();
        });
      });
    }
    if (now >= next_recheck) {
      next_recheck = now + options_.access_recheck_interval;
      // Every watcher, not only those reading by grant or proxy: care-team changes and
      // sign-outs on other instances are rung, but a ring can be lost.
      std::vector<std::shared_ptr<Watcher>> live;
      for (const auto& watcher : AllWatchers()) {
        if (watcher->reader().token_expire <= now) {
          watcher->End(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                    "the token has expired; watch again with a fresh token"));
        } else {
          live.push_back(watcher);
        }
      }
      RecheckEveryone(std::move(live));
    }
    lock.lock();
  }
}

}  // namespace coplan
