#include "server/app/metrics_endpoint.h"

#include <httplib.h>
#include <sys/socket.h>

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace coplan {

struct MetricsEndpoint::Server {
  httplib::Server http;
  std::thread thread;
  std::string host;
  int port = 0;
};

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& listen,
                                                                        MetricsRegistry& registry) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (colon == std::string::npos || host.empty() ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_listen=", listen, ": not host:port (e.g. 0.0.0.0:9464)"));
  }
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->server_ = std::make_unique<Server>();
  Server& server = *endpoint->server_;
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second server
  // started on the same port would share it silently instead of being refused.
  server.http.set_socket_options([](int socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // A scrape is one small request: two threads, short timeouts, no request bodies.
  server.http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  server.http.set_read_timeout(5, 0);
  server.http.set_write_timeout(5, 0);
  server.http.set_keep_alive_max_count(10);
  server.http.set_payload_max_length(1024);
  server.http.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (port == 0) {
    port = server.http.bind_to_any_port(host);
    if (port <= 0) port = -1;
  } else if (!server.http.bind_to_port(host, port)) {
    port = -1;
  }
  if (port < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--metrics_listen=", listen,
                     ": cannot listen there (is the port in use, or the "
                     "address not this machine's?)"));
  }
  server.host = host;
  server.port = port;
  server.thread = std::thread([&server] { server.http.listen_after_bind(); });
  // stop() before the loop runs would not end it: wait until it does.
  for (int i = 0; i < 1000 && !server.http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (server_ == nullptr) return;
  server_->http.stop();
  if (server_->thread.joinable()) server_->thread.join();
}

std::string MetricsEndpoint::address() const {
  const bool v6 = server_->host.find(':') != std::string::npos;
  return v6 ? absl::StrCat("[", server_->host, "]:", server_->port)
            : absl::StrCat(server_->host, ":", server_->port);
}

}  // namespace coplan
