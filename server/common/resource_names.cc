#include "server/common/resource_names.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/errors.h"
#include "server/common/ids.h"

namespace coplan {

absl::StatusOr<std::vector<std::string>> ParseName(absl::string_view name,
                                                   absl::string_view pattern,
                                                   absl::string_view field) {
  auto fail = [&](absl::string_view why) {
    return InvalidFieldError(field, absl::StrCat(why, "; expected \"", pattern, "\""));
  };
  if (name.empty()) return fail("is empty");
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  std::vector<absl::string_view> expected = absl::StrSplit(pattern, '/');
  if (parts.size() != expected.size()) return fail("is not a valid resource name");
  std::vector<std::string> values;
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool variable = !expected[i].empty() && expected[i].front() == '{';
    if (!variable) {
      if (parts[i] != expected[i]) return fail("is not a valid resource name");
      continue;
    }
    if (!IsValidNameSegment(parts[i])) {
      return fail(absl::StrCat("has an invalid id \"", parts[i].substr(0, 64),
                               "\" (use 1 to 63 of a-z, 0-9 and '-')"));
    }
    values.emplace_back(parts[i]);
  }
  return values;
}

absl::StatusOr<std::string> ParsePersonName(absl::string_view name, absl::string_view field) {
  auto parts = ParseName(name, "people/{person}", field);
  if (!parts.ok()) return parts.status();
  return (*parts)[0];
}

std::string PersonName(absl::string_view person_id) { return absl::StrCat("people/", person_id); }

absl::string_view CollectionSegment(Collection collection) {
  return collection == Collection::kPlans ? "plans" : "decisions";
}

absl::StatusOr<DocumentName> ParseDocumentName(absl::string_view name, absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() == 4 && parts[2] == "decisions") {
    return ParseDocumentName(name, Collection::kDecisions, field);
  }
  if (parts.size() == 4 && parts[2] == "plans") {
    return ParseDocumentName(name, Collection::kPlans, field);
  }
  if (name.empty()) return InvalidFieldError(field, "is empty; expected a document name");
  return InvalidFieldError(field,
                           "is not a document name; expected \"people/{person}/plans/{plan}\" "
                           "or \"people/{person}/decisions/{decision}\"");
}

absl::StatusOr<DocumentName> ParseDocumentName(absl::string_view name, Collection collection,
                                               absl::string_view field) {
  const std::string pattern = collection == Collection::kPlans
                                  ? "people/{person}/plans/{plan}"
                                  : "people/{person}/decisions/{decision}";
  auto parts = ParseName(name, pattern, field);
  if (!parts.ok()) return parts.status();
  return DocumentName{(*parts)[0], collection, (*parts)[1]};
}

std::string FormatDocumentName(const DocumentName& name) {
  return absl::StrCat("people/", name.person_id, "/", CollectionSegment(name.collection), "/",
                      name.document_id);
}

}  // namespace coplan
