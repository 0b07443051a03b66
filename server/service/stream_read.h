// What a watch or sync stream delivered of one document to its reader since its last read
// row in the audit trail: the live layer collects these, the document service audits them.
#pragma once

#include <cstdint>

#include "server/common/resource_names.h"
#include "server/service/caller.h"

namespace coplan {

struct StreamRead {
  Caller reader;  // as the stream was authorised (its method names the RPC)
  DocumentName name;
  int64_t from = 0;  // the first revision delivered since the last row
  int64_t to = 0;    // the last
};

}  // namespace coplan
