#include "server/fhir/fhir_json.h"

#include <cstdint>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/common/crypto.h"
#include "server/common/proto_time.h"
#include "server/fhir/fhir_codes.h"

namespace coplan {
namespace fhir {

std::string FhirInstant(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "";
  return FhirInstant(FromTimestamp(timestamp));
}

std::string FhirInstant(absl::Time time) {
  // FHIR tools (google-fhir among them) accept at most microseconds; Coplan stores no more.
  const absl::Time micros = absl::FromUnixMicros(absl::ToUnixMicros(time));
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", micros, absl::UTCTimeZone());
}

std::string FhirDate(const google::type::Date& date) { return ToIsoDate(date); }

std::string UrnUuid(absl::string_view key) {
  std::string bytes = Sha256(absl::StrCat("coplan-fhir-v1\n", key)).substr(0, 16);
  bytes[6] = static_cast<char>((static_cast<uint8_t>(bytes[6]) & 0x0f) | 0x80);  // version 8
  bytes[8] = static_cast<char>((static_cast<uint8_t>(bytes[8]) & 0x3f) | 0x80);  // variant 10
  const std::string hex = absl::BytesToHexString(bytes);
  return absl::StrCat("urn:uuid:", hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4),
                      "-", hex.substr(16, 4), "-", hex.substr(20));
}

std::string IdOfUrn(absl::string_view urn) {
  absl::ConsumePrefix(&urn, "urn:uuid:");
  return std::string(urn);
}

void SetString(nlohmann::json& object, const char* key, const std::string& value) {
  if (!value.empty()) object[key] = value;
}

void Append(nlohmann::json& object, const char* key, nlohmann::json value) {
  if (value.is_null() || (value.is_object() && value.empty()) ||
      (value.is_string() && value.get_ref<const std::string&>().empty())) {
    return;
  }
  object[key].push_back(std::move(value));
}

nlohmann::json Coding(absl::string_view system, absl::string_view code, absl::string_view display) {
  nlohmann::json coding = {{"system", std::string(system)}, {"code", std::string(code)}};
  if (!display.empty()) coding["display"] = std::string(display);
  return coding;
}

nlohmann::json Concept(absl::string_view system, absl::string_view code,
                       absl::string_view display) {
  return {{"coding", nlohmann::json::array({Coding(system, code, display)})}};
}

nlohmann::json TextConcept(const std::string& text) {
  nlohmann::json concept_json = nlohmann::json::object();
  SetString(concept_json, "text", text);
  return concept_json;
}

nlohmann::json Reference(const std::string& full_url) { return {{"reference", full_url}}; }

nlohmann::json DisplayReference(const std::string& display) {
  nlohmann::json reference = nlohmann::json::object();
  SetString(reference, "display", display);
  return reference;
}

nlohmann::json StringExtension(absl::string_view url, const std::string& value) {
  if (value.empty()) return nlohmann::json::object();
  return Extension(url, "valueString", value);
}

nlohmann::json DateExtension(absl::string_view url, const std::string& fhir_date) {
  if (fhir_date.empty()) return nlohmann::json::object();
  return Extension(url, "valueDate", fhir_date);
}

nlohmann::json Extension(absl::string_view url, const char* value_key, nlohmann::json value) {
  return {{"url", std::string(url)}, {value_key, std::move(value)}};
}

nlohmann::json CoplanIdentifier(const std::string& resource_name) {
  if (resource_name.empty()) return nlohmann::json::object();
  return {{"system", kCoplanResourceNameSystem}, {"value", resource_name}};
}

}  // namespace fhir
}  // namespace coplan
