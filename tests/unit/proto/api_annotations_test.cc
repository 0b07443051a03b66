// The annotations the ecosystem's tools read (gRPC-JSON transcoding, generated clients, API
// linters), checked over every service and message of coplan.v1 by walking the
// descriptors: no API linter is packaged in Debian, so this test is the one that keeps a
// new RPC, resource or name field from slipping in without them.
//
// The rules, from AIP-122, AIP-123, AIP-127 and AIP-131..136:
//  - Resources. A message (not a request) whose field 1 is `string name` is a resource and
//    carries google.api.resource (unless that field is itself a resource_reference: a view
//    of a resource declared elsewhere, e.g. OptionGridVersionSummary). Its type is
//    "coplan.app/<MessageName>" and it has at least one well-formed pattern; types and
//    patterns are unique across the API.
//  - References. Every field with a (coplan.v1.resource_pattern), every `name` and
//    `parent` of a request, and every string field of a name the API uses for resource
//    names (kNameFields) carries google.api.resource_reference, naming a declared type
//    (or "*", AIP-122's "any resource", for a name of more than one type). A field's
//    (resource_pattern) must be a pattern of the type it references (a `type`), or the
//    parent of one of its patterns (a `child_type`).
//  - HTTP. Every RPC but a bidirectional stream has google.api.http (a bidirectional
//    stream cannot have one: SyncService.Sync is the only one, and it must have none).
//    Every binding is get/post/patch/delete under "/v1/"; every path variable is a
//    (possibly nested) string field of the request, and its segment pattern is a pattern
//    of the resource the field references; get and delete have no body, post and patch
//    have one ("*" or a field of the request); no two bindings share a verb and path.
//    Standard methods use their verb: Get and List get, Create post, Update patch, Delete
//    delete.
//  - Method signatures. An RPC whose request has `name` has a method_signature starting
//    with "name", otherwise one whose request has `parent` starts with "parent"; every
//    Create has one that includes the resource it creates, and every Update one that is
//    "<resource>,update_mask". Every signature names fields of the request. Other RPCs
//    (sign-in, the caller's own lists) may have none.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "coplan/v1/audit_service.pb.h"
#include "coplan/v1/auth_service.pb.h"
#include "coplan/v1/decision_service.pb.h"
#include "coplan/v1/editing_service.pb.h"
#include "coplan/v1/export_service.pb.h"
#include "coplan/v1/field_rules.pb.h"
#include "coplan/v1/option_grid_service.pb.h"
#include "coplan/v1/people_service.pb.h"
#include "coplan/v1/plan_service.pb.h"
#include "coplan/v1/sync_service.pb.h"
#include "google/api/annotations.pb.h"
#include "google/api/client.pb.h"
#include "google/api/resource.pb.h"
#include "google/protobuf/descriptor.h"

namespace coplan {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

constexpr char kTypePrefix[] = "coplan.app/";

// Field names that hold resource names wherever they appear (as strings). `name` is not
// here: GridAuthor.name and Contact.name are people's names, not resource names.
constexpr char kNameFields[] =
    "parent person actor on_behalf_of access_given_to creator last_editor author document "
    "documents clinician proxy grantee session team withheld_from translation_of "
    "option_grid_version competence_decided_by";

bool IsNameField(const std::string& name) {
  static const auto* const fields = new std::set<std::string>(absl::StrSplit(kNameFields, ' '));
  return fields->count(name) > 0;
}

// Every file of coplan/v1, from the services' files and what they import.
std::vector<const FileDescriptor*> CoplanFiles() {
  std::vector<const FileDescriptor*> pending = {v1::ListAccessEventsRequest::descriptor()->file(),
                                                v1::SignInRequest::descriptor()->file(),
                                                v1::GetDecisionRecordRequest::descriptor()->file(),
                                                v1::EditDocumentRequest::descriptor()->file(),
                                                v1::ExportFhirBundleRequest::descriptor()->file(),
                                                v1::GetOptionGridRequest::descriptor()->file(),
                                                v1::GetPersonRequest::descriptor()->file(),
                                                v1::GetPlanRequest::descriptor()->file(),
                                                v1::SyncRequest::descriptor()->file()};
  std::vector<const FileDescriptor*> out;
  std::set<const FileDescriptor*> seen;
  while (!pending.empty()) {
    const FileDescriptor* file = pending.back();
    pending.pop_back();
    if (file->package() != "coplan.v1" || !seen.insert(file).second) continue;
    out.push_back(file);
    for (int i = 0; i < file->dependency_count(); ++i) pending.push_back(file->dependency(i));
  }
  return out;
}

std::vector<const Descriptor*> CoplanMessages() {
  std::vector<const Descriptor*> out;
  std::vector<const Descriptor*> pending;
  for (const FileDescriptor* file : CoplanFiles()) {
    for (int i = 0; i < file->message_type_count(); ++i) pending.push_back(file->message_type(i));
  }
  while (!pending.empty()) {
    const Descriptor* message = pending.back();
    pending.pop_back();
    out.push_back(message);
    for (int i = 0; i < message->nested_type_count(); ++i) {
      pending.push_back(message->nested_type(i));
    }
  }
  return out;
}

std::vector<const MethodDescriptor*> CoplanMethods() {
  std::vector<const MethodDescriptor*> out;
  for (const FileDescriptor* file : CoplanFiles()) {
    for (int s = 0; s < file->service_count(); ++s) {
      const ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) out.push_back(service->method(m));
    }
  }
  return out;
}

bool IsString(const FieldDescriptor* field) {
  return field->type() == FieldDescriptor::TYPE_STRING;
}

const google::api::ResourceDescriptor* ResourceOf(const Descriptor* message) {
  if (!message->options().HasExtension(google::api::resource)) return nullptr;
  return &message->options().GetExtension(google::api::resource);
}

bool HasReference(const FieldDescriptor* field) {
  return field->options().HasExtension(google::api::resource_reference);
}

// The declared resources: type -> descriptor.
std::map<std::string, const google::api::ResourceDescriptor*> Resources() {
  std::map<std::string, const google::api::ResourceDescriptor*> out;
  for (const Descriptor* message : CoplanMessages()) {
    if (const auto* resource = ResourceOf(message)) out[resource->type()] = resource;
  }
  return out;
}

// "people/{person}/plans/{plan}" -> "people/*/plans/*", as in an HTTP path template.
std::string Wildcarded(const std::string& pattern) {
  std::vector<std::string> segments = absl::StrSplit(pattern, '/');
  for (std::string& segment : segments) {
    if (absl::StartsWith(segment, "{")) segment = "*";
  }
  return absl::StrJoin(segments, "/");
}

// A pattern is literal collection ids followed by {variables}, alternating, starting with
// a literal; a singleton (people/{person}/account) ends with a literal.
bool WellFormedPattern(const std::string& pattern) {
  std::vector<std::string> segments = absl::StrSplit(pattern, '/');
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& segment = segments[i];
    const bool variable = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
    if (variable != (i % 2 == 1)) return false;
    if (!variable && (segment.empty() || segment.find_first_of("{}*") != std::string::npos)) {
      return false;
    }
  }
  return !segments.empty();
}

// The patterns a reference's field may hold, wildcarded: a `type`'s patterns, or the
// parents of a `child_type`'s patterns. Empty for "*".
std::set<std::string> ReferencedPatterns(const google::api::ResourceReference& reference) {
  std::set<std::string> out;
  const auto resources = Resources();
  if (!reference.type().empty() && reference.type() != "*") {
    auto it = resources.find(reference.type());
    if (it == resources.end()) return out;
    for (const std::string& pattern : it->second->pattern()) out.insert(pattern);
  }
  if (!reference.child_type().empty()) {
    auto it = resources.find(reference.child_type());
    if (it == resources.end()) return out;
    for (const std::string& pattern : it->second->pattern()) {
      std::vector<std::string> segments = absl::StrSplit(pattern, '/');
      // Drop the collection and the id (or a singleton's one segment).
      segments.resize(segments.size() - (segments.size() % 2 == 0 ? 2 : 1));
      if (!segments.empty()) out.insert(absl::StrJoin(segments, "/"));
    }
  }
  return out;
}

TEST(ApiAnnotationsTest, EveryResourceHasAUniqueTypeAndWellFormedPatterns) {
  std::map<std::string, std::string> type_owner;
  std::map<std::string, std::string> pattern_owner;
  // A request's `name` names the resource it acts on: see the references' test.
  std::set<const Descriptor*> requests;
  for (const MethodDescriptor* method : CoplanMethods()) requests.insert(method->input_type());
  int resources = 0;
  for (const Descriptor* message : CoplanMessages()) {
    const FieldDescriptor* first = message->FindFieldByNumber(1);
    const bool named = first != nullptr && first->name() == "name" && IsString(first) &&
                       requests.count(message) == 0;
    const auto* resource = ResourceOf(message);
    if (named && !HasReference(first)) {
      EXPECT_NE(resource, nullptr)
          << message->full_name() << " has a resource name but no google.api.resource";
    }
    if (resource == nullptr) continue;
    ++resources;
    EXPECT_EQ(resource->type(), kTypePrefix + message->name()) << message->full_name();
    EXPECT_TRUE(type_owner.emplace(resource->type(), message->full_name()).second)
        << resource->type() << " is declared by " << message->full_name() << " and "
        << type_owner[resource->type()];
    EXPECT_GT(resource->pattern_size(), 0) << message->full_name();
    for (const std::string& pattern : resource->pattern()) {
      EXPECT_TRUE(WellFormedPattern(pattern)) << message->full_name() << ": " << pattern;
      EXPECT_TRUE(pattern_owner.emplace(Wildcarded(pattern), message->full_name()).second)
          << pattern << " is a pattern of " << message->full_name() << " and "
          << pattern_owner[Wildcarded(pattern)];
    }
    const std::string name_field =
        resource->name_field().empty() ? std::string("name") : resource->name_field();
    const FieldDescriptor* name = message->FindFieldByName(name_field);
    EXPECT_TRUE(name != nullptr && IsString(name)) << message->full_name();
  }
  EXPECT_GE(resources, 13);
}

TEST(ApiAnnotationsTest, EveryFieldThatNamesAResourceReferencesADeclaredType) {
  std::set<const Descriptor*> requests;
  for (const MethodDescriptor* method : CoplanMethods()) requests.insert(method->input_type());
  const auto resources = Resources();
  for (const Descriptor* message : CoplanMessages()) {
    for (int i = 0; i < message->field_count(); ++i) {
      const FieldDescriptor* field = message->field(i);
      if (!IsString(field)) continue;
      const std::string& pattern = field->options().GetExtension(v1::resource_pattern);
      const bool must = !pattern.empty() || IsNameField(field->name()) ||
                        (requests.count(message) > 0 && field->name() == "name");
      if (!HasReference(field)) {
        EXPECT_FALSE(must) << field->full_name() << " names a resource but has no "
                           << "google.api.resource_reference";
        continue;
      }
      const auto& reference = field->options().GetExtension(google::api::resource_reference);
      EXPECT_NE(reference.type().empty(), reference.child_type().empty())
          << field->full_name() << ": exactly one of type and child_type";
      for (const std::string& type : {reference.type(), reference.child_type()}) {
        if (type.empty() || type == "*") continue;
        EXPECT_TRUE(resources.count(type) > 0)
            << field->full_name() << " references " << type << ", which is not declared";
      }
      if (!pattern.empty() && reference.type() != "*") {
        EXPECT_TRUE(ReferencedPatterns(reference).count(pattern) > 0)
            << field->full_name() << "'s (resource_pattern) " << pattern
            << " is not a pattern of what it references";
      }
    }
  }
}

// The field at a dotted path of a message ("plan.name"), or null.
const FieldDescriptor* FieldAt(const Descriptor* message, const std::string& path) {
  const FieldDescriptor* field = nullptr;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (message == nullptr) return nullptr;
    field = message->FindFieldByName(std::string(part));
    if (field == nullptr) return nullptr;
    message = field->message_type();
  }
  return field;
}

// The wildcarded patterns the field at the end of a path variable may hold: those of the
// resource it references, or of the resource whose own name it is. Null when any goes.
std::set<std::string> PatternsOf(const FieldDescriptor* field) {
  std::set<std::string> out;
  if (HasReference(field)) {
    const auto& reference = field->options().GetExtension(google::api::resource_reference);
    if (reference.type() == "*") return {"*"};
    for (const std::string& pattern : ReferencedPatterns(reference)) {
      out.insert(Wildcarded(pattern));
    }
  } else if (const auto* resource = ResourceOf(field->containing_type())) {
    for (const std::string& pattern : resource->pattern()) out.insert(Wildcarded(pattern));
  }
  return out;
}

struct Binding {
  std::string verb;
  std::string path;
  const google::api::HttpRule* rule;
};

Binding BindingOf(const google::api::HttpRule& rule) {
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      return {"get", rule.get(), &rule};
    case google::api::HttpRule::kPost:
      return {"post", rule.post(), &rule};
    case google::api::HttpRule::kPatch:
      return {"patch", rule.patch(), &rule};
    case google::api::HttpRule::kDelete:
      return {"delete", rule.delete_(), &rule};
    default:
      return {"", "", &rule};
  }
}

void CheckBinding(const MethodDescriptor* method, const Binding& binding) {
  const std::string where = method->full_name() + " " + binding.verb + " " + binding.path;
  const Descriptor* request = method->input_type();
  ASSERT_FALSE(binding.verb.empty()) << method->full_name() << ": get, post, patch or delete";
  EXPECT_TRUE(absl::StartsWith(binding.path, "/v1/")) << where;
  EXPECT_TRUE(binding.rule->response_body().empty()) << where;
  const std::string& body = binding.rule->body();
  if (binding.verb == "get" || binding.verb == "delete") {
    EXPECT_TRUE(body.empty()) << where << ": no body";
  } else {
    EXPECT_FALSE(body.empty()) << where << ": a body";
    if (!body.empty() && body != "*") {
      EXPECT_NE(request->FindFieldByName(body), nullptr) << where << ": body " << body;
    }
  }
  std::set<std::string> variables;
  size_t at = 0;
  while ((at = binding.path.find('{', at)) != std::string::npos) {
    const size_t end = binding.path.find('}', at);
    ASSERT_NE(end, std::string::npos) << where;
    const std::string variable = binding.path.substr(at + 1, end - at - 1);
    at = end;
    std::vector<std::string> parts = absl::StrSplit(variable, absl::MaxSplits('=', 1));
    const std::string& field_path = parts[0];
    EXPECT_TRUE(variables.insert(field_path).second) << where << ": " << field_path << " twice";
    const FieldDescriptor* field = FieldAt(request, field_path);
    EXPECT_TRUE(field != nullptr && IsString(field) && !field->is_repeated())
        << where << ": " << field_path << " is not a string field of " << request->full_name();
    if (field == nullptr || parts.size() < 2) continue;
    const std::set<std::string> patterns = PatternsOf(field);
    if (patterns.count("*") > 0) continue;
    EXPECT_TRUE(patterns.count(parts[1]) > 0)
        << where << ": " << parts[1] << " is not a pattern of what " << field_path << " names ("
        << absl::StrJoin(patterns, ", ") << ")";
  }
}

TEST(ApiAnnotationsTest, EveryRpcButABidirectionalStreamHasAnHttpMapping) {
  int bidirectional = 0;
  int methods = 0;
  // Two bindings of the same verb and path would send one method's calls to the other.
  std::map<std::string, std::string> route_owner;
  auto route = [&](const MethodDescriptor* method, const Binding& binding) {
    std::string path = binding.path;
    size_t at = 0;
    while ((at = path.find('{', at)) != std::string::npos) {
      const size_t equals = path.find('=', at);
      const size_t end = path.find('}', at);
      if (end == std::string::npos) break;
      const std::string pattern =
          equals < end ? path.substr(equals + 1, end - equals - 1) : std::string("*");
      path.replace(at, end - at + 1, pattern);
      at += pattern.size();
    }
    const std::string key = binding.verb + " " + path;
    EXPECT_TRUE(route_owner.emplace(key, method->full_name()).second)
        << key << " is bound by " << method->full_name() << " and " << route_owner[key];
  };
  for (const MethodDescriptor* method : CoplanMethods()) {
    ++methods;
    const bool has_http = method->options().HasExtension(google::api::http);
    if (method->client_streaming()) {
      // No HTTP mapping exists for a client stream (AIP-127).
      EXPECT_FALSE(has_http) << method->full_name();
      ++bidirectional;
      continue;
    }
    EXPECT_TRUE(has_http) << method->full_name() << " has no google.api.http";
    if (!has_http) continue;
    const auto& rule = method->options().GetExtension(google::api::http);
    const Binding binding = BindingOf(rule);
    CheckBinding(method, binding);
    route(method, binding);
    for (const auto& extra : rule.additional_bindings()) {
      EXPECT_EQ(extra.additional_bindings_size(), 0) << method->full_name();
      EXPECT_EQ(BindingOf(extra).verb, binding.verb) << method->full_name();
      CheckBinding(method, BindingOf(extra));
      route(method, BindingOf(extra));
    }
    const std::string& name = method->name();
    const std::map<std::string, std::string> standard = {{"Get", "get"},
                                                         {"List", "get"},
                                                         {"Create", "post"},
                                                         {"Update", "patch"},
                                                         {"Delete", "delete"}};
    for (const auto& [prefix, verb] : standard) {
      if (absl::StartsWith(name, prefix)) {
        EXPECT_EQ(binding.verb, verb) << method->full_name();
      }
    }
  }
  EXPECT_EQ(bidirectional, 1) << "SyncService.Sync is the one bidirectional stream";
  EXPECT_GE(methods, 59);
}

TEST(ApiAnnotationsTest, StandardAndResourceMethodsHaveMethodSignatures) {
  for (const MethodDescriptor* method : CoplanMethods()) {
    if (method->client_streaming()) continue;
    const Descriptor* request = method->input_type();
    std::vector<std::vector<std::string>> signatures;
    for (const std::string& signature :
         method->options().GetRepeatedExtension(google::api::method_signature)) {
      std::vector<std::string> fields = absl::StrSplit(signature, ',');
      for (const std::string& field : fields) {
        EXPECT_NE(FieldAt(request, field), nullptr)
            << method->full_name() << ": " << field << " is not a field of "
            << request->full_name();
      }
      signatures.push_back(fields);
    }
    auto has = [&](auto predicate) {
      for (const auto& fields : signatures) {
        if (predicate(fields)) return true;
      }
      return false;
    };
    std::string first;
    if (request->FindFieldByName("name") != nullptr) {
      first = "name";
    } else if (request->FindFieldByName("parent") != nullptr) {
      first = "parent";
    }
    if (!first.empty()) {
      EXPECT_TRUE(has([&](const auto& fields) { return fields.front() == first; }))
          << method->full_name() << " has no method_signature starting with " << first;
    }
    const std::string& body = method->options().GetExtension(google::api::http).body();
    if (absl::StartsWith(method->name(), "Create")) {
      EXPECT_FALSE(signatures.empty()) << method->full_name() << " has no method_signature";
      if (body != "*") {
        EXPECT_TRUE(has([&](const auto& fields) {
          return std::find(fields.begin(), fields.end(), body) != fields.end();
        })) << method->full_name()
            << ": no method_signature with " << body;
      }
    }
    if (absl::StartsWith(method->name(), "Update")) {
      const std::vector<std::string> expected = {body, "update_mask"};
      EXPECT_TRUE(has([&](const auto& fields) { return fields == expected; }))
          << method->full_name() << " has no method_signature \"" << body << ",update_mask\"";
    }
  }
}

}  // namespace
}  // namespace coplan
