// Small builders for FHIR R4 JSON: primitives in their FHIR formats, and the elements every
// resource kind uses (Coding, Reference, Extension). FHIR forbids empty values, so every
// setter here leaves the element out when the value is empty.
//
//   nlohmann::json goal = {{"resourceType", "Goal"}};
//   SetString(goal, "lifecycleStatus", "active");
//   SetString(goal, "startDate", FhirDate(plan.care_plan().review_date()));  // "" => absent
//   Append(goal, "extension", StringExtension(kGoalSupporterExtension, "Mum"));
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/type/date.pb.h"

namespace coplan {
namespace fhir {

// FHIR instant in UTC ("2026-03-01T09:30:00.25Z", at most microseconds); "" when unset.
std::string FhirInstant(const google::protobuf::Timestamp& timestamp);
std::string FhirInstant(absl::Time time);
// FHIR date ("2026-03-01"); "" when the date is not set.
std::string FhirDate(const google::type::Date& date);

// "urn:uuid:<uuid>", the same for the same key in every export: a name-based UUID
// (RFC 9562 version 8) from the SHA-256 of the key.
std::string UrnUuid(absl::string_view key);
// The <uuid> part of a "urn:uuid:<uuid>", used as the resource's id.
std::string IdOfUrn(absl::string_view urn);

// Sets object[key] = value unless value is empty.
void SetString(nlohmann::json& object, const char* key, const std::string& value);
// Appends value to the array object[key] (created on first use) unless value is empty.
void Append(nlohmann::json& object, const char* key, nlohmann::json value);

nlohmann::json Coding(absl::string_view system, absl::string_view code, absl::string_view display);
// A CodeableConcept of one coding.
nlohmann::json Concept(absl::string_view system, absl::string_view code, absl::string_view display);
// A CodeableConcept of text only; empty (left out by Append/Set) when text is empty.
nlohmann::json TextConcept(const std::string& text);

// {"reference": full_url}.
nlohmann::json Reference(const std::string& full_url);
// A Reference by display text only (e.g. a free-text "responsible"); empty for empty text.
nlohmann::json DisplayReference(const std::string& display);

// A simple extension: {"url": url, "value<Type>": value}; empty when value is empty.
nlohmann::json StringExtension(absl::string_view url, const std::string& value);
nlohmann::json DateExtension(absl::string_view url, const std::string& fhir_date);
nlohmann::json Extension(absl::string_view url, const char* value_key, nlohmann::json value);

// Identifier of a Coplan resource by its resource name ("people/alex/plans/crisis"); empty
// for an empty name.
nlohmann::json CoplanIdentifier(const std::string& resource_name);

}  // namespace fhir
}  // namespace coplan
