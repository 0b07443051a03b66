// The option grid library: anyone signed in reads published grids; grid authors create
// and edit drafts and publish them as immutable, numbered versions once they meet the
// quality criteria (domain/grid_quality.h).
#pragma once

#include "absl/status/statusor.h"
#include "coplan/v1/option_grid_service.pb.h"
#include "server/service/access_gate.h"
#include "server/service/caller.h"
#include "server/service/page_token.h"
#include "server/store/database.h"
#include "server/store/grid_store.h"

namespace coplan {

class OptionGridService {
 public:
  struct Options {
    double reading_age_target = 12;
    bool reading_age_enforced = false;
  };

  OptionGridService(Database& db, GridStore& store, AccessGate& gate, const PageTokens& page_tokens,
                    Options options);

  absl::StatusOr<coplan::v1::OptionGrid> Get(const Caller& caller,
                                             const coplan::v1::GetOptionGridRequest& request);
  absl::StatusOr<coplan::v1::ListOptionGridsResponse> List(
      const Caller& caller, const coplan::v1::ListOptionGridsRequest& request);
  absl::StatusOr<coplan::v1::OptionGridVersion> GetVersion(const Caller& caller,
                                                           const std::string& name);
  absl::StatusOr<coplan::v1::OptionGrid> Create(const Caller& caller,
                                                const coplan::v1::CreateOptionGridRequest& request);
  absl::StatusOr<coplan::v1::OptionGrid> Update(const Caller& caller,
                                                const coplan::v1::UpdateOptionGridRequest& request);
  absl::StatusOr<coplan::v1::OptionGridVersion> Publish(
      const Caller& caller, const coplan::v1::PublishOptionGridRequest& request);

 private:
  // `content` (the draft or a published version's grid) with the grid's bookkeeping.
  coplan::v1::OptionGrid Present(const GridRow& row, const coplan::v1::OptionGrid& content,
                                 bool draft, absl::CivilDay today) const;
  absl::Status RequireAuthor(const Caller& caller, bool* is_author);

  Database& db_;
  GridStore& store_;
  AccessGate& gate_;
  const PageTokens& page_tokens_;
  const Options options_;
};

// A published version by resource name, as read on `today` (no caller checks: decision
// records load the version they are made from). NOT_FOUND if there is no such version.
absl::StatusOr<coplan::v1::OptionGridVersion> LoadPublishedVersion(GridStore& store,
                                                                   Transaction& tx,
                                                                   const std::string& name,
                                                                   absl::CivilDay today);

// Splits "optionGrids/{grid}/versions/{version}" (version a number, or "latest" = 0).
absl::StatusOr<std::pair<std::string, int>> ParseGridVersionName(const std::string& name,
                                                                 const std::string& field);

}  // namespace coplan
