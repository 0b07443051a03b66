// SQL for option grids: drafts, published versions (never changed), translations.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

struct GridVersionRow {
  std::string grid_id;
  int version = 0;
  std::string content;  // serialized coplan.v1.OptionGridVersion (as published)
  absl::Time publish_time;
  std::string publisher_id;
  std::string next_review_date;  // "YYYY-MM-DD" or ""
};

struct GridRow {
  std::string id;
  std::string title;
  std::string locale;
  std::string translation_of;  // grid id or ""
  std::string draft;           // serialized coplan.v1.OptionGrid content
  int64_t draft_revision = 1;
  int latest_version = 0;
  int64_t published_draft_revision = 0;
  std::string created_by;
  absl::Time create_time;
  absl::Time update_time;
  std::vector<GridVersionRow> versions;   // summaries (no content), oldest first
  std::vector<std::string> translations;  // grid ids
};

class GridStore {
 public:
  explicit GridStore(Database& db);

  // ALREADY_EXISTS if the id is taken.
  absl::Status Insert(WriteTransaction& tx, const GridRow& grid);
  // With version summaries and translations; `lock` for an update.
  std::optional<GridRow> Get(Transaction& tx, const std::string& id, bool lock = false);
  void UpdateDraft(WriteTransaction& tx, const GridRow& grid);
  // By title, after (title, id); published only unless `include_drafts`.
  std::vector<GridRow> List(Transaction& tx, const std::string& locale, bool include_drafts,
                            const std::string& after_title, const std::string& after_id, int limit);
  void InsertVersion(WriteTransaction& tx, const GridVersionRow& version);
  // A published version; version 0 means the latest.
  std::optional<GridVersionRow> GetVersion(Transaction& tx, const std::string& id, int version);

 private:
  void LoadExtras(Transaction& tx, std::vector<GridRow>& grids);
  Database& db_;
};

}  // namespace coplan
