#include "server/live/doorbell.h"

#include <map>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/store/notification_channel.h"

namespace coplan {
namespace {

std::string Encode(const DoorbellMessage& message) {
  switch (message.kind) {
    case DoorbellMessage::Kind::kRevision:
      return absl::StrCat("r:", message.document_key, ":", message.revision);
    case DoorbellMessage::Kind::kAgreement:
      return absl::StrCat("a:", message.document_key);
    case DoorbellMessage::Kind::kPresence:
      return absl::StrCat("p:", message.document_key);
    case DoorbellMessage::Kind::kAccess:
      return absl::StrCat("x:", message.id);
    case DoorbellMessage::Kind::kSession:
      return absl::StrCat("s:", message.id);
  }
  return "";
}

// Ids are resource ids (letters, digits, '-'): nothing that could split a payload.
bool IsPlainId(absl::string_view id) {
  if (id.empty() || id.size() > 100) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

std::optional<DoorbellMessage> Decode(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  int64_t key = 0;
  if (parts.size() == 3 && parts[0] == "r") {
    int64_t revision = 0;
    if (absl::SimpleAtoi(parts[1], &key) && absl::SimpleAtoi(parts[2], &revision)) {
      return DoorbellMessage::Revision(key, revision);
    }
    return std::nullopt;
  }
  if (parts.size() != 2) return std::nullopt;
  if (parts[0] == "a" && absl::SimpleAtoi(parts[1], &key)) return DoorbellMessage::Agreement(key);
  if (parts[0] == "p" && absl::SimpleAtoi(parts[1], &key)) return DoorbellMessage::Presence(key);
  if (parts[0] == "x" && IsPlainId(parts[1])) return DoorbellMessage::Access(std::string(parts[1]));
  if (parts[0] == "s" && IsPlainId(parts[1]))
    return DoorbellMessage::Session(std::string(parts[1]));
  return std::nullopt;
}

}  // namespace

DoorbellMessage DoorbellMessage::Revision(int64_t document_key, int64_t revision) {
  return {Kind::kRevision, document_key, revision, ""};
}
DoorbellMessage DoorbellMessage::Agreement(int64_t document_key) {
  return {Kind::kAgreement, document_key, 0, ""};
}
DoorbellMessage DoorbellMessage::Presence(int64_t document_key) {
  return {Kind::kPresence, document_key, 0, ""};
}
DoorbellMessage DoorbellMessage::Access(std::string person_id) {
  return {Kind::kAccess, 0, 0, std::move(person_id)};
}
DoorbellMessage DoorbellMessage::Session(std::string session_id) {
  return {Kind::kSession, 0, 0, std::move(session_id)};
}

bool DoorbellMessage::operator==(const DoorbellMessage& other) const {
  return std::tie(kind, document_key, revision, id) ==
         std::tie(other.kind, other.document_key, other.revision, other.id);
}

std::vector<std::string> EncodeDoorbellPayloads(const std::string& instance_id,
                                                const std::vector<DoorbellMessage>& messages) {
  // One revision message per document (the highest); others once each.
  std::map<int64_t, int64_t> revisions;
  std::set<std::string> others;
  for (const DoorbellMessage& message : messages) {
    if (message.kind == DoorbellMessage::Kind::kRevision) {
      int64_t& best = revisions[message.document_key];
      best = std::max(best, message.revision);
    } else {
      others.insert(Encode(message));
    }
  }
  std::vector<std::string> encoded(others.begin(), others.end());
  for (const auto& [key, revision] : revisions) {
    encoded.push_back(Encode(DoorbellMessage::Revision(key, revision)));
  }
  std::vector<std::string> payloads;
  std::string payload = instance_id;
  for (const std::string& message : encoded) {
    if (payload.size() + message.size() + 1 > kMaxNotificationPayload) {
      payloads.push_back(payload);
      payload = instance_id;
    }
    absl::StrAppend(&payload, ";", message);
  }
  if (payload.size() > instance_id.size()) payloads.push_back(payload);
  return payloads;
}

DecodedDoorbellPayload DecodeDoorbellPayload(const std::string& payload) {
  DecodedDoorbellPayload decoded;
  std::vector<absl::string_view> parts = absl::StrSplit(payload, ';');
  decoded.instance_id = std::string(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    if (auto message = Decode(parts[i])) decoded.messages.push_back(std::move(*message));
  }
  return decoded;
}

Doorbell::Doorbell(std::string conninfo, std::string instance_id, Listener* listener)
    : conninfo_(std::move(conninfo)), instance_id_(std::move(instance_id)), listener_(listener) {
  notifications_ = std::make_unique<NotificationListener>(
      conninfo_, kChannel, [this](const std::string& payload) { Deliver(payload); },
      [this] { listener_->OnListening(); });
}

Doorbell::~Doorbell() { Stop(); }

void Doorbell::Start() {
  {
    absl::MutexLock lock(&mutex_);
    sending_ = true;
  }
  notifications_->Start();
  send_thread_ = std::thread([this] { Send(); });
}

void Doorbell::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  notifications_->Stop();
  if (send_thread_.joinable()) send_thread_.join();
}

int Doorbell::reconnects() const { return notifications_->reconnects(); }

void Doorbell::Ring(DoorbellMessage message) {
  absl::MutexLock lock(&mutex_);
  if (stopping_ && !sending_) return;  // stopped: nobody would send it
  outbox_.push_back(std::move(message));
}

void Doorbell::Deliver(const std::string& payload) {
  DecodedDoorbellPayload decoded = DecodeDoorbellPayload(payload);
  if (decoded.instance_id == instance_id_) return;  // our own: handled already
  for (const DoorbellMessage& message : decoded.messages) listener_->OnRing(message);
}

void Doorbell::Send() {
  NotificationSender sender(conninfo_, kChannel);
  auto ready = [this]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stopping_ || !outbox_.empty(); };
  for (;;) {
    std::vector<DoorbellMessage> batch;
    bool stopping;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(&ready));
      batch.assign(outbox_.begin(), outbox_.end());
      outbox_.clear();
      stopping = stopping_;
    }
    // Lost messages cost latency only: the receivers' periodic catch-up reads the log.
    if (!batch.empty()) (void)sender.Send(EncodeDoorbellPayloads(instance_id_, batch));
    if (stopping) {
      absl::MutexLock lock(&mutex_);
      if (outbox_.empty()) {
        sending_ = false;
        return;
      }
    }
  }
}

}  // namespace coplan
