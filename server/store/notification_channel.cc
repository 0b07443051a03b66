#include "server/store/notification_channel.h"

#include <pqxx/pqxx>

#include "server/common/log.h"

namespace coplan {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel,
           const std::function<void(const std::string&)>& deliver)
      : pqxx::notification_receiver(conn, channel), deliver_(deliver) {}
  void operator()(const std::string& payload, int) override { deliver_(payload); }

 private:
  const std::function<void(const std::string&)>& deliver_;
};

}  // namespace

NotificationListener::NotificationListener(std::string conninfo, std::string channel,
                                           std::function<void(const std::string&)> on_payload,
                                           std::function<void()> on_listening)
    : conninfo_(std::move(conninfo)),
      channel_(std::move(channel)),
      on_payload_(std::move(on_payload)),
      on_listening_(std::move(on_listening)) {}

NotificationListener::~NotificationListener() { Stop(); }

void NotificationListener::Start() {
  thread_ = std::thread([this] { Run(); });
}

void NotificationListener::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int NotificationListener::reconnects() const {
  absl::MutexLock lock(&mutex_);
  return reconnects_;
}

void NotificationListener::Run() {
  auto stopping = [this] {
    absl::MutexLock lock(&mutex_);
    return stopping_;
  };
  int failures = 0;
  while (!stopping()) {
    try {
      pqxx::connection conn(conninfo_);
      Receiver receiver(conn, channel_, on_payload_);
      conn.get_notifs();  // make sure LISTEN went out before we report listening
      failures = 0;
      on_listening_();
      while (!stopping()) conn.await_notification(0, 200000);
    } catch (const std::exception&) {
      Log(LogLevel::kWarning, "notification_listener_lost").Int("failures", ++failures);
      absl::MutexLock lock(&mutex_);
      ++reconnects_;
      // Back off, but wake at once when asked to stop.
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_),
                              absl::Milliseconds(std::min(2000, 100 * failures)));
    }
  }
}

struct NotificationSender::Connection {
  explicit Connection(const std::string& conninfo) : conn(conninfo) {}
  pqxx::connection conn;
};

NotificationSender::NotificationSender(std::string conninfo, std::string channel)
    : conninfo_(std::move(conninfo)), channel_(std::move(channel)) {}

NotificationSender::~NotificationSender() = default;

absl::Status NotificationSender::Send(const std::vector<std::string>& payloads) {
  size_t sent = 0;
  for (int attempt = 0; attempt < 3 && sent < payloads.size(); ++attempt) {
    try {
      if (connection_ == nullptr) connection_ = std::make_unique<Connection>(conninfo_);
      pqxx::nontransaction tx(connection_->conn);
      for (; sent < payloads.size(); ++sent) {
        tx.exec_params("SELECT pg_notify($1, $2)", channel_, payloads[sent]);
      }
    } catch (const std::exception&) {
      connection_.reset();
      Log(LogLevel::kWarning, "notification_send_failed").Int("attempt", attempt);
    }
  }
  if (sent < payloads.size()) return absl::UnavailableError("notifications could not be sent");
  return absl::OkStatus();
}

}  // namespace coplan
