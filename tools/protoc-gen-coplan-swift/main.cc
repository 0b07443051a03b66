// protoc-gen-coplan-swift: generates Swift models of .proto messages for CoplanKit
// (mobile-bindings/swift). Swift has no protobuf runtime in the project, so every message
// becomes a Codable, Sendable, Hashable struct that reads and writes the proto3 JSON
// mapping (int64 as strings, enums by name, default values left out); the package's
// hand-written runtime (Sources/CoplanModels/Runtime) supplies the well-known types
// (Timestamp, Duration, Value, Struct, ListValue, Any, FieldMask, Empty, the wrappers),
// which are never generated. Every service gets a namespace of typed unary method names
// for coplan_call_json.
//
//   protoc --plugin=protoc-gen-coplan-swift=... --coplan-swift_out=DIR a.proto b.proto
//
// One output file per input file, named after its path with '/' as '_' (SwiftPM needs
// unique file names in a target): coplan/v1/plan.proto -> coplan_v1_plan.pb.swift.
#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/compiler/plugin.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace coplan::swiftgen {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::OneofDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::compiler::GeneratorContext;

const std::set<std::string>& SwiftKeywords() {
  static const std::set<std::string> keywords = {"associatedtype",
                                                 "class",
                                                 "deinit",
                                                 "enum",
                                                 "extension",
                                                 "fileprivate",
                                                 "func",
                                                 "import",
                                                 "init",
                                                 "inout",
                                                 "internal",
                                                 "let",
                                                 "open",
                                                 "operator",
                                                 "private",
                                                 "precedencegroup",
                                                 "protocol",
                                                 "public",
                                                 "rethrows",
                                                 "static",
                                                 "struct",
                                                 "subscript",
                                                 "typealias",
                                                 "var",
                                                 "break",
                                                 "case",
                                                 "catch",
                                                 "continue",
                                                 "default",
                                                 "defer",
                                                 "do",
                                                 "else",
                                                 "fallthrough",
                                                 "for",
                                                 "guard",
                                                 "if",
                                                 "in",
                                                 "repeat",
                                                 "return",
                                                 "throw",
                                                 "switch",
                                                 "where",
                                                 "while",
                                                 "Any",
                                                 "as",
                                                 "await",
                                                 "false",
                                                 "is",
                                                 "nil",
                                                 "self",
                                                 "Self",
                                                 "super",
                                                 "throws",
                                                 "true",
                                                 "try",
                                                 "Type",
                                                 "Protocol",
                                                 "some",
                                                 "any"};
  return keywords;
}

// A member name: renamed (with "_") where Swift gives the name another meaning or the
// generated code or its protocols use it; with backticks when Swift reserves it.
std::string Member(const std::string& name) {
  static const std::set<std::string> renamed = {
      "self",      "Self",      "Type",       "Protocol",
      "init",      "deinit",    "subscript",  "protoMessageName",
      "protoJSON", "jsonData",  "jsonString", "hashValue",
      "rawValue",  "protoName", "allCases",   "protoEnumName"};
  if (renamed.count(name)) return name + "_";
  return SwiftKeywords().count(name) ? "`" + name + "`" : name;
}

// "snake_case" or "UPPER_CASE" -> "lowerCamel" (or "UpperCamel").
std::string Camel(const std::string& name, bool upper_first) {
  std::string out;
  bool next_upper = upper_first;
  bool all_upper = true;
  for (char c : name) {
    if (c >= 'a' && c <= 'z') all_upper = false;
  }
  for (char c : name) {
    if (c == '_') {
      next_upper = true;
      continue;
    }
    char lower = all_upper && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    if (next_upper && lower >= 'a' && lower <= 'z') {
      out += static_cast<char>(lower - 'a' + 'A');
    } else if (out.empty() && !upper_first && lower >= 'A' && lower <= 'Z') {
      out += static_cast<char>(lower - 'A' + 'a');
    } else {
      out += lower;
    }
    next_upper = false;
  }
  return out;
}

// A nested type's own name, renamed where Swift gives it another meaning (Foo.Type).
std::string TypeName(const std::string& name) {
  if (name == "Type" || name == "Protocol" || name == "Self" || name == "Any") return name + "_";
  return name;
}

// "coplan.client.v1" -> "Coplan_Client_V1_".
std::string PackagePrefix(const std::string& package) {
  std::string out;
  size_t start = 0;
  while (start <= package.size() && !package.empty()) {
    size_t dot = package.find('.', start);
    std::string part =
        package.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    out += Camel(part, true) + "_";
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

// The well-known types the runtime supplies, by full name.
const std::map<std::string, std::string>& WellKnown() {
  static const std::map<std::string, std::string> types = {
      {"google.protobuf.Timestamp", "ProtoTimestamp"},
      {"google.protobuf.Duration", "ProtoDuration"},
      {"google.protobuf.Value", "JSONValue"},
      {"google.protobuf.Struct", "JSONObject"},
      {"google.protobuf.ListValue", "JSONArray"},
      {"google.protobuf.Any", "ProtoAny"},
      {"google.protobuf.FieldMask", "ProtoFieldMask"},
      {"google.protobuf.Empty", "ProtoEmpty"},
      // The wrappers are their value, optional (absent: null).
      {"google.protobuf.DoubleValue", "Double"},
      {"google.protobuf.FloatValue", "Float"},
      {"google.protobuf.Int64Value", "Int64"},
      {"google.protobuf.UInt64Value", "UInt64"},
      {"google.protobuf.Int32Value", "Int32"},
      {"google.protobuf.UInt32Value", "UInt32"},
      {"google.protobuf.BoolValue", "Bool"},
      {"google.protobuf.StringValue", "String"},
      {"google.protobuf.BytesValue", "Data"},
  };
  return types;
}

// Swift's name of a generated type: the package prefix on the outermost, nested types
// inside it ("Coplan_Client_V1_PendingBatch.State").
template <typename D>
std::string NestedName(const D* d) {
  std::vector<std::string> names = {d->name()};
  for (const Descriptor* outer = d->containing_type(); outer != nullptr;
       outer = outer->containing_type()) {
    names.insert(names.begin(), outer->name());
  }
  std::string out = PackagePrefix(d->file()->package()) + names[0];
  for (size_t i = 1; i < names.size(); ++i) out += "." + TypeName(names[i]);
  return out;
}

std::string SwiftType(const Descriptor* d) {
  auto known = WellKnown().find(d->full_name());
  if (known != WellKnown().end()) return known->second;
  return NestedName(d);
}

std::string SwiftType(const EnumDescriptor* e) {
  if (e->full_name() == "google.protobuf.NullValue") return "ProtoNullValue";
  return NestedName(e);
}

// The Swift type of one value of the field (the element of a repeated field).
std::string ValueType(const FieldDescriptor* f) {
  switch (f->type()) {
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SFIXED32:
      return "Int32";
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_SFIXED64:
      return "Int64";
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_FIXED32:
      return "UInt32";
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_FIXED64:
      return "UInt64";
    case FieldDescriptor::TYPE_FLOAT:
      return "Float";
    case FieldDescriptor::TYPE_DOUBLE:
      return "Double";
    case FieldDescriptor::TYPE_BOOL:
      return "Bool";
    case FieldDescriptor::TYPE_STRING:
      return "String";
    case FieldDescriptor::TYPE_BYTES:
      return "Data";
    case FieldDescriptor::TYPE_ENUM:
      return SwiftType(f->enum_type());
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP:
      return SwiftType(f->message_type());
  }
  return "JSONValue";
}

bool IsValue(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_MESSAGE &&
         f->message_type()->full_name() == "google.protobuf.Value";
}

// Singular fields held as Swift optionals: messages (absent or present) and fields with
// explicit presence (proto3 `optional`, proto2).
bool IsOptional(const FieldDescriptor* f) {
  if (f->is_repeated()) return false;
  if (f->type() == FieldDescriptor::TYPE_MESSAGE || f->type() == FieldDescriptor::TYPE_GROUP) {
    return true;
  }
  return f->has_presence();
}

// A Swift expression that is true when a proto3 implicit-presence scalar is not default.
std::string NotDefault(const FieldDescriptor* f, const std::string& name) {
  switch (f->type()) {
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES:
      return "!" + name + ".isEmpty";
    case FieldDescriptor::TYPE_BOOL:
      return name;
    case FieldDescriptor::TYPE_ENUM:
      return name + ".rawValue != 0";
    default:
      return name + " != 0";
  }
}

std::string DefaultValue(const FieldDescriptor* f) {
  switch (f->type()) {
    case FieldDescriptor::TYPE_STRING:
      return "\"\"";
    case FieldDescriptor::TYPE_BYTES:
      return "Data()";
    case FieldDescriptor::TYPE_BOOL:
      return "false";
    case FieldDescriptor::TYPE_ENUM:
      return SwiftType(f->enum_type()) + "()";
    default:
      return "0";
  }
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class FileWriter {
 public:
  FileWriter(const FileDescriptor* file, std::vector<std::string> imports)
      : file_(file), imports_(std::move(imports)) {}

  std::string Run() {
    out_ += "// Generated by protoc-gen-coplan-swift from " + file_->name() +
            ". Do not edit: the build\n// writes it again from the .proto file.\n";
    out_ += "// swift-format-ignore-file\n\nimport Foundation\n";
    for (const std::string& module : imports_) out_ += "import " + module + "\n";
    out_ += "\n";
    for (int i = 0; i < file_->enum_type_count(); ++i) WriteEnum(file_->enum_type(i), "");
    for (int i = 0; i < file_->message_type_count(); ++i) {
      WriteMessage(file_->message_type(i), "");
    }
    for (int i = 0; i < file_->service_count(); ++i) WriteService(file_->service(i));
    return out_;
  }

 private:
  void Line(const std::string& indent, const std::string& text) {
    out_ += text.empty() ? "\n" : indent + text + "\n";
  }

  void WriteEnum(const EnumDescriptor* e, const std::string& in) {
    // Swift case names: the value's name without the enum's prefix, in lowerCamelCase.
    // RevisionKind -> REVISION_KIND_.
    std::string upper_prefix;
    char previous = 0;
    for (char c : e->name()) {
      if (c >= 'A' && c <= 'Z' && previous >= 'a' && previous <= 'z') upper_prefix += '_';
      upper_prefix += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
      previous = c;
    }
    upper_prefix += "_";
    std::vector<std::pair<std::string, const EnumValueDescriptor*>> cases;
    std::set<int> numbers;
    for (int i = 0; i < e->value_count(); ++i) {
      const EnumValueDescriptor* v = e->value(i);
      std::string name = v->name();
      if (name.rfind(upper_prefix, 0) == 0 && name.size() > upper_prefix.size() &&
          !(name[upper_prefix.size()] >= '0' && name[upper_prefix.size()] <= '9')) {
        name = name.substr(upper_prefix.size());
      }
      std::string swift = Camel(name, false);
      if (swift == "unrecognized") swift += "_";
      cases.emplace_back(swift, v);
    }
    // Aliases (allow_alias) are static lets of the first value with their number.
    std::vector<std::pair<std::string, const EnumValueDescriptor*>> aliases;
    {
      std::map<int, std::string> first_case;
      std::vector<std::pair<std::string, const EnumValueDescriptor*>> unique;
      for (auto& entry : cases) {
        if (first_case.emplace(entry.second->number(), entry.first).second) {
          unique.push_back(entry);
        } else {
          aliases.emplace_back(first_case[entry.second->number()], entry.second);
        }
      }
      cases = unique;
    }
    const std::string full = SwiftType(e);
    const std::string type = e->containing_type() == nullptr ? full : TypeName(e->name());
    Line(in, "/// The enum " + e->full_name() + ".");
    Line(in, "public enum " + type + ": ProtoEnum, CaseIterable {");
    const std::string i2 = in + "  ";
    const std::string i3 = i2 + "  ";
    for (auto& [swift, v] : cases) {
      Line(i2, "/// " + v->name() + " = " + std::to_string(v->number()));
      Line(i2, "case " + Member(swift));
    }
    Line(i2, "/// A number this version does not know.");
    Line(i2, "case unrecognized(Int32)");
    for (auto& [target, v] : aliases) {
      std::string name = v->name();
      if (name.rfind(upper_prefix, 0) == 0 && name.size() > upper_prefix.size()) {
        name = name.substr(upper_prefix.size());
      }
      Line(i2, "/// " + v->name() + " = " + std::to_string(v->number()) + ": an alias.");
      Line(i2, "public static let " + Member(Camel(name, false)) + ": " + full + " = ." +
                   Member(target));
    }
    Line("", "");
    Line(i2, "public static let allCases: [" + full + "] = [");
    for (auto& [swift, v] : cases) Line(i3, "." + Member(swift) + ",");
    Line(i2, "]");
    Line(i2, "public static let protoEnumName = " + Quote(e->full_name()));
    Line(i2, "public init() { self = ." + Member(cases.front().first) + " }");
    Line(i2, "public init(rawValue: Int32) {");
    Line(i3, "switch rawValue {");
    for (auto& [swift, v] : cases) {
      if (!numbers.insert(v->number()).second) continue;
      Line(i3, "case " + std::to_string(v->number()) + ": self = ." + Member(swift));
    }
    Line(i3, "default: self = .unrecognized(rawValue)");
    Line(i3, "}");
    Line(i2, "}");
    Line(i2, "public init?(protoName: String) {");
    Line(i3, "switch protoName {");
    for (auto& [swift, v] : cases) {
      Line(i3, "case " + Quote(v->name()) + ": self = ." + Member(swift));
    }
    for (auto& [target, v] : aliases) {
      Line(i3, "case " + Quote(v->name()) + ": self = ." + Member(target));
    }
    Line(i3, "default: return nil");
    Line(i3, "}");
    Line(i2, "}");
    Line(i2, "public var rawValue: Int32 {");
    Line(i3, "switch self {");
    for (auto& [swift, v] : cases) {
      Line(i3, "case ." + Member(swift) + ": return " + std::to_string(v->number()));
    }
    Line(i3, "case .unrecognized(let number): return number");
    Line(i3, "}");
    Line(i2, "}");
    Line(i2, "public var protoName: String? {");
    Line(i3, "switch self {");
    for (auto& [swift, v] : cases) {
      Line(i3, "case ." + Member(swift) + ": return " + Quote(v->name()));
    }
    Line(i3, "case .unrecognized: return nil");
    Line(i3, "}");
    Line(i2, "}");
    Line(in, "}");
    Line("", "");
  }

  // The JSON lookup of a field: its lowerCamelCase name, or the name in the .proto file.
  std::string Lookup(const FieldDescriptor* f) {
    std::string call = IsValue(f) && !f->is_repeated() ? "ProtoJSON.valueField" : "ProtoJSON.field";
    return call + "(object, " + Quote(f->json_name()) + ", " + Quote(f->name()) + ")";
  }

  std::string DecodeExpr(const FieldDescriptor* f, const std::string& v) {
    const std::string path = Quote(f->containing_type()->full_name() + "." + f->name());
    if (f->is_map()) {
      const FieldDescriptor* key = f->message_type()->map_key();
      const FieldDescriptor* value = f->message_type()->map_value();
      return "try ProtoJSON.map(" + v + ", " + ValueType(key) + ".self, " + ValueType(value) +
             ".self, path: " + path + ")";
    }
    if (f->is_repeated()) {
      return "try ProtoJSON.repeated(" + v + ", " + ValueType(f) + ".self, path: " + path + ")";
    }
    return "try ProtoJSON.decode(" + v + ", " + ValueType(f) + ".self, path: " + path + ")";
  }

  void WriteMessage(const Descriptor* d, const std::string& in) {
    if (d->options().map_entry()) return;
    const std::string type = d->containing_type() == nullptr ? SwiftType(d) : TypeName(d->name());
    const std::string i2 = in + "  ";
    const std::string i3 = i2 + "  ";
    const std::string i4 = i3 + "  ";
    Line(in, "/// The message " + d->full_name() + ".");
    Line(in, "public struct " + type + ": ProtoMessage {");
    Line(i2, "public static let protoMessageName = " + Quote(d->full_name()));
    Line("", "");
    std::vector<const OneofDescriptor*> oneofs;
    for (int i = 0; i < d->real_oneof_decl_count(); ++i) oneofs.push_back(d->oneof_decl(i));
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->real_containing_oneof() != nullptr) continue;
      std::string decl;
      if (f->is_map()) {
        decl = "[" + ValueType(f->message_type()->map_key()) + ": " +
               ValueType(f->message_type()->map_value()) + "] = [:]";
      } else if (f->is_repeated()) {
        decl = "[" + ValueType(f) + "] = []";
      } else if (IsOptional(f)) {
        decl = ValueType(f) + "? = nil";
      } else {
        decl = ValueType(f) + " = " + DefaultValue(f);
      }
      Line(i2, "/// " + f->name() + " = " + std::to_string(f->number()));
      Line(i2, "public var " + Member(f->json_name()) + ": " + decl);
    }
    for (const OneofDescriptor* o : oneofs) {
      const std::string enum_name = "OneOf_" + Camel(o->name(), true);
      Line(i2, "/// The oneof " + o->name() + " (nil: none of its fields is set).");
      Line(i2, "public var " + Member(Camel(o->name(), false)) + ": " + enum_name + "? = nil");
      for (int j = 0; j < o->field_count(); ++j) {
        const FieldDescriptor* f = o->field(j);
        const std::string t = ValueType(f);
        const std::string m = Member(f->json_name());
        const std::string oneof = "self." + Member(Camel(o->name(), false));
        Line(i2, "/// " + f->name() + " = " + std::to_string(f->number()) + " (in " + o->name() +
                     "): nil unless it is the one set; setting nil clears the oneof.");
        Line(i2, "public var " + m + ": " + t + "? {");
        Line(i3, "get { if case ." + m + "(let value)? = " + oneof + " { return value }; " +
                     "return nil }");
        Line(i3, "set { " + oneof + " = newValue.map { ." + m + "($0) } }");
        Line(i2, "}");
      }
    }
    Line("", "");
    for (const OneofDescriptor* o : oneofs) {
      Line(i2, "public enum OneOf_" + Camel(o->name(), true) + ": Sendable, Hashable {");
      for (int j = 0; j < o->field_count(); ++j) {
        const FieldDescriptor* f = o->field(j);
        Line(i3, "case " + Member(f->json_name()) + "(" + ValueType(f) + ")");
      }
      Line(i2, "}");
      Line("", "");
    }
    Line(i2, "public init() {}");
    Line("", "");
    // Reading.
    Line(i2, "public init(protoJSON json: JSONValue) throws {");
    Line(i3, "let object = try ProtoJSON.object(json, " + Quote(d->full_name()) + ")");
    if (d->field_count() == 0) Line(i3, "_ = object");
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const OneofDescriptor* o = f->real_containing_oneof();
      const std::string target =
          o != nullptr ? Member(Camel(o->name(), false)) : "self." + Member(f->json_name());
      std::string value = DecodeExpr(f, "value");
      if (o != nullptr) value = "." + Member(f->json_name()) + "(" + value + ")";
      Line(i3, "if let value = " + Lookup(f) + " {");
      Line(i4, (o != nullptr ? "self." : "") + target + " = " + value);
      Line(i3, "}");
    }
    Line(i2, "}");
    Line("", "");
    // Writing: default values are left out.
    Line(i2, "public func protoJSON() -> JSONValue {");
    if (d->field_count() == 0) {
      Line(i3, "return .object([:])");
      Line(i2, "}");
      Line("", "");
    } else {
      Line(i3, "var object: [String: JSONValue] = [:]");
      for (int i = 0; i < d->field_count(); ++i) {
        const FieldDescriptor* f = d->field(i);
        if (f->real_containing_oneof() != nullptr) continue;
        const std::string m = "self." + Member(f->json_name());
        const std::string key = Quote(f->json_name());
        if (f->is_map()) {
          Line(i3,
               "if !" + m + ".isEmpty { object[" + key + "] = ProtoJSON.encodeMap(" + m + ") }");
        } else if (f->is_repeated()) {
          Line(i3, "if !" + m + ".isEmpty { object[" + key + "] = .array(" + m +
                       ".map { $0.protoJSON() }) }");
        } else if (IsOptional(f)) {
          Line(i3, "if let value = " + m + " { object[" + key + "] = value.protoJSON() }");
        } else {
          Line(i3, "if " + NotDefault(f, m) + " { object[" + key + "] = " + m + ".protoJSON() }");
        }
      }
      for (const OneofDescriptor* o : oneofs) {
        Line(i3, "switch self." + Member(Camel(o->name(), false)) + " {");
        for (int j = 0; j < o->field_count(); ++j) {
          const FieldDescriptor* f = o->field(j);
          Line(i3, "case ." + Member(f->json_name()) + "(let value)?: object[" +
                       Quote(f->json_name()) + "] = value.protoJSON()");
        }
        Line(i3, "case nil: break");
        Line(i3, "}");
      }
      Line(i3, "return .object(object)");
      Line(i2, "}");
      Line("", "");
    }
    for (int i = 0; i < d->enum_type_count(); ++i) WriteEnum(d->enum_type(i), i2);
    for (int i = 0; i < d->nested_type_count(); ++i) WriteMessage(d->nested_type(i), i2);
    Line(in, "}");
    Line("", "");
  }

  void WriteService(const ServiceDescriptor* s) {
    const std::string name = PackagePrefix(s->file()->package()) + s->name();
    Line("", "/// The unary methods of " + s->full_name() + ", for CoplanClient.call.");
    Line("", "public enum " + name + " {");
    for (int i = 0; i < s->method_count(); ++i) {
      const auto* m = s->method(i);
      if (m->client_streaming() || m->server_streaming()) {
        Line("  ", "// " + m->name() + ": streaming, not callable through the C ABI.");
        continue;
      }
      Line("  ", "/// /" + s->full_name() + "/" + m->name());
      Line("  ", "public static let " + Member(Camel(m->name(), false)) + " = ProtoMethod<" +
                     SwiftType(m->input_type()) + ", " + SwiftType(m->output_type()) + ">(" +
                     Quote(s->full_name() + "/" + m->name()) + ")");
    }
    Line("", "}");
    Line("", "");
  }

  const FileDescriptor* file_;
  std::vector<std::string> imports_;
  std::string out_;
};

// Fails on a message that holds itself through singular fields: a Swift struct cannot.
bool FindCycle(const Descriptor* d, std::vector<const Descriptor*>& path, std::string* error) {
  for (const Descriptor* p : path) {
    if (p == d) {
      *error = "the message " + d->full_name() + " contains itself; a Swift struct cannot";
      return true;
    }
  }
  if (WellKnown().count(d->full_name())) return false;
  path.push_back(d);
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || f->message_type() == nullptr) continue;
    if (FindCycle(f->message_type(), path, error)) return true;
  }
  path.pop_back();
  return false;
}

class Generator : public google::protobuf::compiler::CodeGenerator {
 public:
  // The parameter (--coplan-swift_opt): "import=Module[,import=Other]", the modules the
  // generated code imports besides Foundation (CoplanModels, outside that module).
  bool Generate(const FileDescriptor* file, const std::string& parameter, GeneratorContext* context,
                std::string* error) const override {
    std::vector<std::string> imports;
    size_t start = 0;
    while (start < parameter.size()) {
      size_t comma = parameter.find(',', start);
      if (comma == std::string::npos) comma = parameter.size();
      const std::string option = parameter.substr(start, comma - start);
      if (option.rfind("import=", 0) == 0) {
        imports.push_back(option.substr(7));
      } else if (!option.empty()) {
        *error = "unknown option '" + option + "' (import=Module)";
        return false;
      }
      start = comma + 1;
    }
    for (int i = 0; i < file->message_type_count(); ++i) {
      std::vector<const Descriptor*> path;
      if (FindCycle(file->message_type(i), path, error)) return false;
    }
    std::string name = file->name();
    if (name.size() > 6 && name.substr(name.size() - 6) == ".proto") {
      name = name.substr(0, name.size() - 6);
    }
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    std::string text;
    if (file->package() == "google.protobuf") {
      text = "// " + file->name() + ": supplied by the CoplanModels runtime.\n";
    } else {
      text = FileWriter(file, imports).Run();
    }
    std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
        context->Open(name + ".pb.swift"));
    google::protobuf::io::Printer printer(out.get(), '$');
    printer.PrintRaw(text);
    return !printer.failed();
  }

  uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }
};

}  // namespace
}  // namespace coplan::swiftgen

int main(int argc, char** argv) {
  coplan::swiftgen::Generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
