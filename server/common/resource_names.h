// Parsing and formatting of resource names (AIP-122).
//
//   COPLAN_ASSIGN_OR_RETURN(DocumentName doc, ParseDocumentName(request.name(), "name"));
//   doc.person_id == "k3x9q0c7w2mh5t8a"; doc.collection == Collection::kPlans
//   FormatDocumentName(doc) == "people/k3x9q0c7w2mh5t8a/plans/crisis"
//
// A malformed name is INVALID_ARGUMENT naming the field and the expected pattern.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coplan {

// Matches `name` against a pattern such as "people/{person}/plans/{plan}" and returns
// the variable segments in order. `field` names the request field for errors.
absl::StatusOr<std::vector<std::string>> ParseName(absl::string_view name,
                                                   absl::string_view pattern,
                                                   absl::string_view field);

// "people/{person}".
absl::StatusOr<std::string> ParsePersonName(absl::string_view name, absl::string_view field);
std::string PersonName(absl::string_view person_id);

// The two collections of jointly edited documents under a person.
enum class Collection { kPlans, kDecisions };

struct DocumentName {
  std::string person_id;
  Collection collection = Collection::kPlans;
  std::string document_id;
};

// "people/{person}/plans/{plan}" or "people/{person}/decisions/{decision}".
absl::StatusOr<DocumentName> ParseDocumentName(absl::string_view name, absl::string_view field);
// Only the given collection.
absl::StatusOr<DocumentName> ParseDocumentName(absl::string_view name, Collection collection,
                                               absl::string_view field);
std::string FormatDocumentName(const DocumentName& name);
absl::string_view CollectionSegment(Collection collection);

}  // namespace coplan
