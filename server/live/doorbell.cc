#include "server/live/doorbell.h"

#include <map>
#include <pqxx/pqxx>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/common/log.h"

namespace coplan {
namespace {

// Payloads stay well under PostgreSQL's 8000-byte limit.
constexpr size_t kMaxPayload = 7000;

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, std::function<void(const std::string&)> deliver)
      : pqxx::notification_receiver(conn, Doorbell::kChannel), deliver_(std::move(deliver)) {}
  void operator()(const std::string& payload, int) override { deliver_(payload); }

 private:
  std::function<void(const std::string&)> deliver_;
};

// Keeps one "r:key:rev" per document (the highest) and drops duplicate messages.
std::vector<std::string> Coalesce(std::deque<std::string>& messages) {
  std::map<std::string, int64_t> revisions;
  std::set<std::string> others;
  for (const std::string& message : messages) {
    std::vector<std::string> parts = absl::StrSplit(message, ':');
    int64_t revision = 0;
    if (parts.size() == 3 && parts[0] == "r" && absl::SimpleAtoi(parts[2], &revision)) {
      auto& best = revisions[parts[1]];
      best = std::max(best, revision);
    } else {
      others.insert(message);
    }
  }
  messages.clear();
  std::vector<std::string> out(others.begin(), others.end());
  for (const auto& [key, revision] : revisions) out.push_back("r:" + key + ":" + std::to_string(revision));
  return out;
}

}  // namespace

Doorbell::Doorbell(std::string conninfo, std::string instance_id, Listener* listener)
    : conninfo_(std::move(conninfo)), instance_id_(std::move(instance_id)), listener_(listener) {}

Doorbell::~Doorbell() { Stop(); }

void Doorbell::Start() {
  listen_thread_ = std::thread([this] { Listen(); });
  send_thread_ = std::thread([this] { Send(); });
}

void Doorbell::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  outbox_ready_.notify_all();
  stopped_.notify_all();
  if (listen_thread_.joinable()) listen_thread_.join();
  if (send_thread_.joinable()) send_thread_.join();
}

int Doorbell::reconnects() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reconnects_;
}

void Doorbell::Ring(std::string message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !send_thread_.joinable()) return;
    outbox_.push_back(std::move(message));
  }
  outbox_ready_.notify_one();
}

void Doorbell::Deliver(const std::string& payload) {
  // "<instance>;<message>;<message>..."; our own messages were handled already.
  std::vector<std::string> parts = absl::StrSplit(payload, ';');
  if (parts.empty() || parts[0] == instance_id_) return;
  for (size_t i = 1; i < parts.size(); ++i) listener_->OnRing(parts[i]);
}

void Doorbell::Listen() {
  int failures = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    try {
      pqxx::connection conn(conninfo_);
      Receiver receiver(conn, [this](const std::string& payload) { Deliver(payload); });
      conn.get_notifs();  // make sure LISTEN went out before we report listening
      failures = 0;
      listener_->OnListening();
      for (;;) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (stopping_) return;
        }
        conn.await_notification(0, 200000);
      }
    } catch (const std::exception&) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++reconnects_;
      }
      Log(LogLevel::kWarning, "doorbell_listener_lost").Int("failures", ++failures);
      std::unique_lock<std::mutex> lock(mutex_);
      stopped_.wait_for(lock, std::chrono::milliseconds(std::min(2000, 100 * failures)),
                     [this] { return stopping_; });
    }
  }
}

void Doorbell::Send() {
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    std::deque<std::string> batch;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      outbox_ready_.wait(lock, [this] { return stopping_ || !outbox_.empty(); });
      batch.swap(outbox_);
      stopping = stopping_;
    }
    std::vector<std::string> messages = Coalesce(batch);
    std::vector<std::string> payloads;
    std::string payload = instance_id_;
    for (const std::string& message : messages) {
      if (payload.size() + message.size() + 1 > kMaxPayload) {
        payloads.push_back(payload);
        payload = instance_id_;
      }
      payload += ";" + message;
    }
    if (payload.size() > instance_id_.size()) payloads.push_back(payload);
    for (int attempt = 0; attempt < 3 && !payloads.empty(); ++attempt) {
      try {
        if (conn == nullptr) conn = std::make_unique<pqxx::connection>(conninfo_);
        pqxx::nontransaction tx(*conn);
        for (const std::string& p : payloads) {
          tx.exec_params("SELECT pg_notify($1, $2)", std::string(kChannel), p);
        }
        payloads.clear();
      } catch (const std::exception&) {
        // Lost: the receivers' periodic catch-up reads the revision log anyway.
        conn.reset();
        Log(LogLevel::kWarning, "doorbell_send_failed").Int("attempt", attempt);
      }
    }
    if (stopping) return;
  }
}

}  // namespace coplan
