#include "server/service/option_grid_service.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/resource_names.h"
#include "server/common/status_macros.h"
#include "server/domain/document_meta.h"
#include "server/domain/field_rules.h"
#include "server/domain/grid_quality.h"
#include "server/domain/update_mask.h"
#include "server/service/call_audit.h"
#include "server/service/page_token.h"
#include "server/store/database.h"

namespace coplan {
namespace {

std::string GridName(const std::string& id) { return "optionGrids/" + id; }

std::string VersionName(const std::string& id, int version) {
  return absl::StrCat("optionGrids/", id, "/versions/", version);
}

bool ReviewOverdue(const google::type::Date& next_review, absl::CivilDay today) {
  return IsSet(next_review) && ToCivilDay(next_review) < today;
}

// BCP 47, simplified: a 2-3 letter language, then subtags of 2-8 letters or digits.
bool IsValidLocale(const std::string& locale) {
  std::vector<std::string> parts = absl::StrSplit(locale, '-');
  if (parts.empty() || parts[0].size() < 2 || parts[0].size() > 3) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& part = parts[i];
    if (part.empty() || part.size() > 8 || (i > 0 && part.size() < 2)) return false;
    for (char c : part) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
      if (i == 0 && !absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
    }
  }
  return true;
}

std::string GridEtag(const GridRow& row) {
  return Base64UrlEncode(
      Sha256(absl::StrCat("coplan-grid-etag:", row.id, ":", row.draft_revision)).substr(0, 12));
}

absl::Status ValidateContent(const v1::OptionGrid& grid, const std::string& prefix) {
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateFields(grid, ""), prefix));
  if (!IsValidLocale(grid.locale())) {
    return InvalidFieldError(prefix + "locale", "is not a language tag like \"en-GB\" or \"cy\"");
  }
  return absl::OkStatus();
}

v1::OptionGridVersionSummary Summary(const GridVersionRow& row, absl::CivilDay today) {
  v1::OptionGridVersionSummary summary;
  summary.set_name(VersionName(row.grid_id, row.version));
  summary.set_version(row.version);
  *summary.mutable_publish_time() = ToTimestamp(row.publish_time);
  if (auto date = ParseIsoDate(row.next_review_date)) {
    *summary.mutable_next_review_date() = *date;
    summary.set_review_overdue(ToCivilDay(*date) < today);
  }
  return summary;
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> ParseGridVersionName(const std::string& name,
                                                                 const std::string& field) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "optionGrids" || parts[2] != "versions" ||
      !IsValidNameSegment(parts[1])) {
    return InvalidFieldError(field, "expected \"optionGrids/{grid}/versions/{version}\"");
  }
  if (parts[3] == "latest") return std::make_pair(parts[1], 0);
  int version = 0;
  if (!absl::SimpleAtoi(parts[3], &version) || version < 1) {
    return InvalidFieldError(field, "the version must be a number from 1, or \"latest\"");
  }
  return std::make_pair(parts[1], version);
}

OptionGridService::OptionGridService(Database& db, GridStore& store, AccessGate& gate,
                                     const PageTokens& page_tokens, Options options)
    : db_(db), store_(store), gate_(gate), page_tokens_(page_tokens), options_(options) {}

absl::Status OptionGridService::RequireAuthor(const Caller& caller, bool* is_author) {
  AccessFacts facts;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(facts, gate_.Person(tx, caller, caller.person_id,
                                                {PersonNeed::kSignedIn}, /*audit=*/nullptr));
    return absl::OkStatus();
  }));
  *is_author = facts.actor.grid_author;
  return absl::OkStatus();
}

v1::OptionGrid OptionGridService::Present(const GridRow& row, const v1::OptionGrid& content,
                                          bool draft, absl::CivilDay today) const {
  v1::OptionGrid grid = content;
  grid.set_name(GridName(row.id));
  if (draft) {
    grid.set_etag(GridEtag(row));
    grid.clear_publication_date();
  }
  grid.set_latest_version(row.latest_version);
  grid.set_has_unpublished_changes(row.draft_revision != row.published_draft_revision);
  grid.set_review_overdue(ReviewOverdue(grid.next_review_date(), today));
  grid.clear_translation_of();
  if (!row.translation_of.empty()) grid.set_translation_of(GridName(row.translation_of));
  grid.clear_translations();
  for (const auto& id : row.translations) grid.add_translations(GridName(id));
  grid.clear_versions();
  for (const auto& version : row.versions) *grid.add_versions() = Summary(version, today);
  *grid.mutable_create_time() = ToTimestamp(row.create_time);
  *grid.mutable_update_time() = ToTimestamp(row.update_time);
  return grid;
}

absl::StatusOr<v1::OptionGrid> OptionGridService::Get(const Caller& caller,
                                                      const v1::GetOptionGridRequest& request) {
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(request.name(), "optionGrids/{grid}", "name"));
  bool is_author = false;
  COPLAN_RETURN_IF_ERROR(RequireAuthor(caller, &is_author));
  const bool draft = request.view() == v1::OPTION_GRID_VIEW_DRAFT;
  if (draft && !is_author) return PermissionDeniedError("only grid authors see drafts");
  std::optional<GridRow> row;
  std::optional<GridVersionRow> latest;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) {
    row = store_.Get(tx, parts[0]);
    if (row && !draft && row->latest_version > 0) latest = store_.GetVersion(tx, parts[0], 0);
    return absl::OkStatus();
  }));
  // A grid never published exists only in the draft view.
  if (!row || (!draft && !latest)) return NotFoundError("option grid", request.name());
  v1::OptionGrid content;
  if (draft) {
    content.ParseFromString(row->draft);
  } else {
    v1::OptionGridVersion version;
    version.ParseFromString(latest->content);
    content = version.grid();
  }
  return Present(*row, content, draft, caller.today());
}

absl::StatusOr<v1::ListOptionGridsResponse> OptionGridService::List(
    const Caller& caller, const v1::ListOptionGridsRequest& request) {
  bool is_author = false;
  COPLAN_RETURN_IF_ERROR(RequireAuthor(caller, &is_author));
  const bool draft = request.view() == v1::OPTION_GRID_VIEW_DRAFT;
  if (draft && !is_author) return PermissionDeniedError("only grid authors see drafts");
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 20, 100));
  const std::string fingerprint =
      absl::StrCat(request.locale(), "|", request.review_overdue_only(), "|", request.view());
  std::string after_title, after_id;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor cursor,
                            page_tokens_.Decode(caller, request.page_token(), fingerprint, 2));
    after_title = cursor.Text(0);
    after_id = cursor.Text(1);
  }
  std::vector<GridRow> rows;
  std::map<std::string, v1::OptionGrid> contents;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) {
    rows = store_.List(tx, request.locale(), draft, after_title, after_id, limit + 1);
    for (const GridRow& row : rows) {
      v1::OptionGrid content;
      if (draft) {
        content.ParseFromString(row.draft);
      } else if (auto latest = store_.GetVersion(tx, row.id, 0)) {
        v1::OptionGridVersion version;
        version.ParseFromString(latest->content);
        content = version.grid();
      }
      contents[row.id] = std::move(content);
    }
    return absl::OkStatus();
  }));
  v1::ListOptionGridsResponse response;
  const bool more = TrimToPage(rows, limit);
  for (const GridRow& row : rows) {
    v1::OptionGrid grid = Present(row, contents[row.id], draft, caller.today());
    // Review is due by the latest published version (drafts have not been reviewed yet).
    bool overdue = grid.review_overdue();
    if (draft)
      overdue =
          !row.versions.empty() && Summary(row.versions.back(), caller.today()).review_overdue();
    if (request.review_overdue_only() && !overdue) continue;
    *response.add_option_grids() = std::move(grid);
  }
  if (more)
    response.set_next_page_token(
        page_tokens_.Encode(caller, {rows.back().title, rows.back().id}, fingerprint));
  return response;
}

absl::StatusOr<v1::OptionGridVersion> LoadPublishedVersion(GridStore& store, Transaction& tx,
                                                           const std::string& name,
                                                           absl::CivilDay today) {
  COPLAN_ASSIGN_OR_RETURN(auto parsed, ParseGridVersionName(name, "name"));
  auto row = store.GetVersion(tx, parsed.first, parsed.second);
  if (!row) return NotFoundError("option grid version", name);
  v1::OptionGridVersion version;
  if (!version.ParseFromString(row->content)) {
    return absl::InternalError("a stored option grid version could not be decoded");
  }
  version.set_name(VersionName(row->grid_id, row->version));
  version.set_version(row->version);
  version.set_review_overdue(ReviewOverdue(version.grid().next_review_date(), today));
  version.mutable_grid()->set_review_overdue(version.review_overdue());
  return version;
}

absl::StatusOr<v1::OptionGridVersion> OptionGridService::GetVersion(const Caller& caller,
                                                                    const std::string& name) {
  bool is_author = false;
  COPLAN_RETURN_IF_ERROR(RequireAuthor(caller, &is_author));
  v1::OptionGridVersion version;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(version, LoadPublishedVersion(store_, tx, name, caller.today()));
    return absl::OkStatus();
  }));
  return version;
}

absl::StatusOr<v1::OptionGrid> OptionGridService::Create(
    const Caller& caller, const v1::CreateOptionGridRequest& request) {
  bool is_author = false;
  COPLAN_RETURN_IF_ERROR(RequireAuthor(caller, &is_author));
  if (!is_author) return PermissionDeniedError("only grid authors create option grids");
  if (!request.has_option_grid()) return InvalidFieldError("option_grid", "is required");
  v1::OptionGrid grid = request.option_grid();
  ClearOutputOnlyFields(grid);
  StripForStorage(grid);
  std::string translation_of;
  if (!grid.translation_of().empty()) {
    COPLAN_ASSIGN_OR_RETURN(
        std::vector<std::string> parts,
        ParseName(grid.translation_of(), "optionGrids/{grid}", "option_grid.translation_of"));
    translation_of = parts[0];
  }
  AssignItemIds(grid);
  COPLAN_RETURN_IF_ERROR(ValidateContent(grid, "option_grid."));
  GridRow row;
  row.id = request.option_grid_id().empty() ? NewResourceId() : request.option_grid_id();
  if (!IsValidClientResourceId(row.id)) {
    return InvalidFieldError("option_grid_id",
                             "must be 4 to 63 of a-z, 0-9 and '-', starting with a letter");
  }
  row.title = grid.title();
  row.locale = grid.locale();
  row.translation_of = translation_of;
  row.draft = grid.SerializeAsString();
  row.created_by = caller.person_id;
  row.create_time = row.update_time = MicrosToTime(TimeToMicros(caller.now));
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    if (!translation_of.empty() && !store_.Get(tx, translation_of)) {
      return InvalidFieldError("option_grid.translation_of", "names a grid that does not exist");
    }
    return store_.Insert(tx, row);
  }));
  return Present(row, grid, /*draft=*/true, caller.today());
}

absl::StatusOr<v1::OptionGrid> OptionGridService::Update(
    const Caller& caller, const v1::UpdateOptionGridRequest& request) {
  bool is_author = false;
  COPLAN_RETURN_IF_ERROR(RequireAuthor(caller, &is_author));
  if (!request.has_option_grid()) return InvalidFieldError("option_grid", "is required");
  const std::string& name = request.option_grid().name();
  if (name.find("/versions/") != std::string::npos) {
    return FailedPreconditionError(
        "published versions never change; edit the grid's draft (optionGrids/{grid}) and publish "
        "a new version");
  }
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(name, "optionGrids/{grid}", "option_grid.name"));
  if (!is_author) return PermissionDeniedError("only grid authors edit option grids");
  COPLAN_RETURN_IF_ERROR(CheckUpdateMask(request.update_mask()));
  GridRow row;
  v1::OptionGrid stored;
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    auto found = store_.Get(tx, parts[0], /*lock=*/true);
    if (!found) return NotFoundError("option grid", name);
    row = *found;
    if (!request.option_grid().etag().empty() && request.option_grid().etag() != GridEtag(row)) {
      return EtagMismatchError(name);
    }
    stored.ParseFromString(row.draft);
    v1::OptionGrid incoming = request.option_grid();
    ClearOutputOnlyFields(incoming);
    COPLAN_ASSIGN_OR_RETURN(
        MaskedUpdate update,
        ApplyUpdateMask(stored, incoming, request.update_mask(), "option_grid"));
    COPLAN_RETURN_IF_ERROR(ValidateContent(stored, "option_grid."));
    if (update.changed_paths.empty()) return absl::OkStatus();
    row.title = stored.title();
    row.locale = stored.locale();
    row.draft = stored.SerializeAsString();
    row.draft_revision += 1;
    row.update_time = caller.now;
    store_.UpdateDraft(tx, row);
    return absl::OkStatus();
  }));
  return Present(row, stored, /*draft=*/true, caller.today());
}

absl::StatusOr<v1::OptionGridVersion> OptionGridService::Publish(
    const Caller& caller, const v1::PublishOptionGridRequest& request) {
  if (request.name().find("/versions/") != std::string::npos) {
    return FailedPreconditionError(
        "a published version cannot be published again; publish the draft");
  }
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(request.name(), "optionGrids/{grid}", "name"));
  bool is_author = false;
  COPLAN_RETURN_IF_ERROR(RequireAuthor(caller, &is_author));
  if (!is_author) return PermissionDeniedError("only grid authors publish option grids");
  v1::OptionGridVersion version;
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    auto row = store_.Get(tx, parts[0], /*lock=*/true);
    if (!row) return NotFoundError("option grid", request.name());
    if (!request.etag().empty() && request.etag() != GridEtag(*row))
      return EtagMismatchError(request.name());
    v1::OptionGrid grid;
    grid.ParseFromString(row->draft);
    GridCheck check = CheckForPublishing(grid, caller.today(), options_.reading_age_target);
    if (check.reading_age_above_target && options_.reading_age_enforced) {
      check.problems.push_back({"READING_AGE_ABOVE_TARGET", "reading_age", check.warnings.back()});
    }
    if (!check.problems.empty()) {
      google::rpc::PreconditionFailure failure;
      for (const auto& problem : check.problems) {
        auto* violation = failure.add_violations();
        violation->set_type(problem.type);
        violation->set_subject(problem.subject);
        violation->set_description(problem.description);
      }
      absl::Status status = absl::FailedPreconditionError(
          absl::StrCat("the grid does not meet the quality criteria yet (", check.problems.size(),
                       " problems; first: ", check.problems[0].subject, ": ",
                       check.problems[0].description, ")"));
      AttachDetail(status, failure);
      AttachErrorInfo(status, reason::kPublishRefused,
                      {{"problems", absl::StrCat(check.problems.size())}});
      return status;
    }
    const int number = row->latest_version + 1;
    *grid.mutable_publication_date() = ToDate(caller.today());
    grid.set_name(GridName(row->id));
    version.set_version(number);
    *version.mutable_grid() = grid;
    *version.mutable_publish_time() = ToTimestamp(MicrosToTime(TimeToMicros(caller.now)));
    version.set_publisher(caller.person_name());
    auto* age = version.mutable_reading_age();
    age->set_reading_age_years(check.readability.reading_age_years);
    age->set_flesch_kincaid_grade(check.readability.flesch_kincaid_grade);
    age->set_words(check.readability.words);
    age->set_sentences(check.readability.sentences);
    age->set_syllables(check.readability.syllables);
    age->set_target_years(options_.reading_age_target);
    for (const auto& warning : check.warnings) version.add_publish_warnings(warning);
    GridVersionRow stored;
    stored.grid_id = row->id;
    stored.version = number;
    stored.content = version.SerializeAsString();
    stored.publish_time = FromTimestamp(version.publish_time());
    stored.publisher_id = caller.person_id;
    stored.next_review_date = ToIsoDate(grid.next_review_date());
    store_.InsertVersion(tx, stored);
    row->latest_version = number;
    row->published_draft_revision = row->draft_revision;
    store_.UpdateDraft(tx, *row);
    return absl::OkStatus();
  }));
  version.set_name(VersionName(parts[0], version.version()));
  return version;
}

}  // namespace coplan
