#include "server/store/grid_store.h"

#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/store/database.h"

namespace coplan {
namespace {

constexpr char kGridColumns[] =
    "id, title, locale, coalesce(translation_of, ''), draft, draft_revision, latest_version,"
    " published_draft_revision, created_by, time_to_micros(create_time), "
    "time_to_micros(update_time)";

GridRow ReadGrid(const pqxx::row& row) {
  GridRow grid;
  grid.id = row[0].as<std::string>();
  grid.title = row[1].as<std::string>();
  grid.locale = row[2].as<std::string>();
  grid.translation_of = row[3].as<std::string>();
  grid.draft = pqxx::binarystring(row[4]).str();
  grid.draft_revision = row[5].as<int64_t>();
  grid.latest_version = row[6].as<int>();
  grid.published_draft_revision = row[7].as<int64_t>();
  grid.created_by = row[8].as<std::string>();
  grid.create_time = MicrosToTime(row[9].as<int64_t>());
  grid.update_time = MicrosToTime(row[10].as<int64_t>());
  return grid;
}

}  // namespace

GridStore::GridStore(Database& db) : db_(db) {
  db_.Prepare("grid_insert",
              "INSERT INTO option_grids (id, title, locale, translation_of, draft, created_by,"
              " create_time, update_time) VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6,"
              " micros_to_time($7), micros_to_time($7)) ON CONFLICT (id) DO NOTHING RETURNING id");
  db_.Prepare("grid_get",
              std::string("SELECT ") + kGridColumns + " FROM option_grids WHERE id = $1");
  db_.Prepare("grid_get_lock", std::string("SELECT ") + kGridColumns +
                                   " FROM option_grids WHERE id = $1 FOR UPDATE");
  db_.Prepare(
      "grid_update",
      "UPDATE option_grids SET title = $2, locale = $3, draft = $4, draft_revision = $5,"
      " latest_version = $6, published_draft_revision = $7, update_time = now() WHERE id = $1");
  db_.Prepare("grid_list",
              std::string("SELECT ") + kGridColumns +
                  " FROM option_grids WHERE ($1 = '' OR locale = $1) AND ($2 OR latest_version > 0)"
                  " AND (title, id) > ($3, $4) ORDER BY title, id LIMIT $5");
  db_.Prepare(
      "grid_versions",
      "SELECT grid_id, version, time_to_micros(publish_time),"
      " coalesce(to_char(next_review_date, 'YYYY-MM-DD'), '') FROM option_grid_versions"
      " WHERE grid_id IN (SELECT json_array_elements_text($1::json)) ORDER BY grid_id, version");
  db_.Prepare("grid_translations",
              "SELECT translation_of, id FROM option_grids"
              " WHERE translation_of IN (SELECT json_array_elements_text($1::json)) ORDER BY id");
  db_.Prepare("grid_version_insert",
              "INSERT INTO option_grid_versions (grid_id, version, content, publish_time,"
              " publisher_id, next_review_date) VALUES ($1, $2, $3, micros_to_time($4), $5,"
              " NULLIF($6, '')::date)");
  db_.Prepare("grid_version_get",
              "SELECT grid_id, version, content, time_to_micros(publish_time),"
              " coalesce(to_char(next_review_date, 'YYYY-MM-DD'), '') FROM option_grid_versions"
              " WHERE grid_id = $1 AND version = CASE WHEN $2 = 0"
              " THEN (SELECT latest_version FROM option_grids WHERE id = $1) ELSE $2 END");
}

absl::Status GridStore::Insert(WriteTransaction& tx, const GridRow& grid) {
  auto result = tx.sql().exec_prepared("grid_insert", grid.id, grid.title, grid.locale,
                                       grid.translation_of, pqxx::binarystring(grid.draft),
                                       grid.created_by, TimeToMicros(grid.create_time));
  if (result.empty()) return AlreadyExistsError("option grid", "optionGrids/" + grid.id);
  return absl::OkStatus();
}

void GridStore::LoadExtras(Transaction& tx, std::vector<GridRow>& grids) {
  if (grids.empty()) return;
  std::vector<std::string> ids;
  std::map<std::string, GridRow*> by_id;
  for (auto& grid : grids) {
    ids.push_back(grid.id);
    by_id[grid.id] = &grid;
  }
  const std::string json = nlohmann::json(ids).dump();
  for (const auto& row : tx.sql().exec_prepared("grid_versions", json)) {
    GridVersionRow version;
    version.grid_id = row[0].as<std::string>();
    version.version = row[1].as<int>();
    version.publish_time = MicrosToTime(row[2].as<int64_t>());
    version.next_review_date = row[3].as<std::string>();
    by_id[version.grid_id]->versions.push_back(std::move(version));
  }
  for (const auto& row : tx.sql().exec_prepared("grid_translations", json)) {
    by_id[row[0].as<std::string>()]->translations.push_back(row[1].as<std::string>());
  }
}

std::optional<GridRow> GridStore::Get(Transaction& tx, const std::string& id, bool lock) {
  auto result = tx.sql().exec_prepared(lock ? "grid_get_lock" : "grid_get", id);
  if (result.empty()) return std::nullopt;
  std::vector<GridRow> grids = {ReadGrid(result[0])};
  LoadExtras(tx, grids);
  return grids[0];
}

void GridStore::UpdateDraft(WriteTransaction& tx, const GridRow& grid) {
  tx.sql().exec_prepared("grid_update", grid.id, grid.title, grid.locale,
                         pqxx::binarystring(grid.draft), grid.draft_revision, grid.latest_version,
                         grid.published_draft_revision);
}

std::vector<GridRow> GridStore::List(Transaction& tx, const std::string& locale,
                                     bool include_drafts, const std::string& after_title,
                                     const std::string& after_id, int limit) {
  std::vector<GridRow> grids;
  for (const auto& row :
       tx.sql().exec_prepared("grid_list", locale, include_drafts, after_title, after_id, limit)) {
    grids.push_back(ReadGrid(row));
  }
  LoadExtras(tx, grids);
  return grids;
}

void GridStore::InsertVersion(WriteTransaction& tx, const GridVersionRow& version) {
  tx.sql().exec_prepared("grid_version_insert", version.grid_id, version.version,
                         pqxx::binarystring(version.content), TimeToMicros(version.publish_time),
                         version.publisher_id, version.next_review_date);
}

std::optional<GridVersionRow> GridStore::GetVersion(Transaction& tx, const std::string& id,
                                                    int version) {
  auto result = tx.sql().exec_prepared("grid_version_get", id, version);
  if (result.empty()) return std::nullopt;
  GridVersionRow row;
  row.grid_id = result[0][0].as<std::string>();
  row.version = result[0][1].as<int>();
  row.content = pqxx::binarystring(result[0][2]).str();
  row.publish_time = MicrosToTime(result[0][3].as<int64_t>());
  row.next_review_date = result[0][4].as<std::string>();
  return row;
}

}  // namespace coplan
