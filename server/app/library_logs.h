// What gRPC and protobuf print themselves (a malformed request, a transport warning) goes
// out as JSON log lines like every other line on stderr, not as their own plain text.
#pragma once

namespace coplan {

// Installs the handlers for the whole process. Call once, early in main, before threads
// start: protobuf's SetLogHandler is not thread-safe.
void RouteLibraryLogsToJsonLog();

}  // namespace coplan
