// The Prometheus endpoint: GET /metrics on a port of its own (--metrics_listen), in the
// text exposition format, from the process's registry (server/common/metrics.h). Plain
// HTTP (cpp-httplib, from Debian): what it serves names no person, document or account,
// and it answers nothing else. Keep the port inside the cluster (a NetworkPolicy or
// firewall that lets the scraper alone reach it).
//
//   COPLAN_ASSIGN_OR_RETURN(auto metrics, MetricsEndpoint::Start("0.0.0.0:9464", Metrics()));
//   metrics->address();   // "0.0.0.0:9464" (the port chosen when 0 was asked for)
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/common/metrics.h"

namespace coplan {

class MetricsEndpoint {
 public:
  // INVALID_ARGUMENT for a listen address that is not host:port; FAILED_PRECONDITION,
  // naming the address, when it cannot be listened on (in use, not this machine's).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& listen,
                                                                MetricsRegistry& registry);
  ~MetricsEndpoint();  // stops serving and joins its threads

  std::string address() const;

 private:
  struct Server;
  MetricsEndpoint() = default;
  std::unique_ptr<Server> server_;
};

}  // namespace coplan
