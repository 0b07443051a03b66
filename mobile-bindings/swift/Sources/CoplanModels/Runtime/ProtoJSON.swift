// The proto3 JSON mapping for the generated models (protoc-gen-coplan-swift): how each
// field type is read from and written to a JSONValue. Writing follows the canonical form
// (int64 as strings, enums by name, lowerCamelCase names, default values left out);
// reading also takes what the mapping allows besides (numbers as strings, int64 as
// numbers, enum numbers, the .proto field names).
import Foundation

/// A model's JSON does not fit its type.
public enum ProtoJSONError: Error, Sendable, Hashable, CustomStringConvertible {
  /// Not JSON at all.
  case malformed(String)
  /// A value of the wrong type, e.g. a number for a string field; names the field.
  case typeMismatch(path: String, expected: String, got: String)

  public var description: String {
    switch self {
    case .malformed(let why): return why
    case .typeMismatch(let path, let expected, let got):
      return "\(path): expected \(expected), got \(got)"
    }
  }
}

/// A type with a proto3 JSON form: every field type of a generated model.
public protocol ProtoJSONField: Sendable, Hashable {
  init(protoJSON json: JSONValue) throws
  func protoJSON() -> JSONValue
}

/// A generated message.
public protocol ProtoMessage: ProtoJSONField, Codable {
  /// The full name in the .proto files, e.g. "coplan.client.v1.CachedDocument".
  static var protoMessageName: String { get }
  init()
}

extension ProtoMessage {
  public init(from decoder: any Decoder) throws {
    try self.init(protoJSON: JSONValue(from: decoder))
  }
  public func encode(to encoder: any Encoder) throws {
    try protoJSON().encode(to: encoder)
  }
  /// Reads the message from proto3 JSON text.
  public init(jsonData data: Data) throws {
    try self.init(protoJSON: JSONValue(jsonData: data))
  }
  public init(jsonString: String) throws {
    try self.init(jsonData: Data(jsonString.utf8))
  }
  /// The message as proto3 JSON text (compact, keys sorted).
  public func jsonData() -> Data { protoJSON().jsonData() }
  public func jsonString() -> String { protoJSON().jsonString() }
}

/// A generated enum: written by name, read by name or number.
public protocol ProtoEnum: ProtoJSONField {
  static var protoEnumName: String { get }
  init()
  init(rawValue: Int32)
  init?(protoName: String)
  var rawValue: Int32 { get }
  /// The value's name in the .proto file; nil for a number this version does not know.
  var protoName: String? { get }
}

extension ProtoEnum {
  public init(protoJSON json: JSONValue) throws {
    switch json {
    case .string(let name):
      guard let value = Self(protoName: name) else {
        throw ProtoJSONError.typeMismatch(
          path: Self.protoEnumName, expected: "a value's name", got: "\"\(name)\"")
      }
      self = value
    case .integer(let number) where Int32(exactly: number) != nil:
      self.init(rawValue: Int32(number))
    default:
      throw ProtoJSONError.typeMismatch(
        path: Self.protoEnumName, expected: "an enum name", got: ProtoJSON.describe(json))
    }
  }
  public func protoJSON() -> JSONValue {
    if let name = protoName { return .string(name) }
    return .integer(Int64(rawValue))
  }
}

/// A map key type: map keys are JSON strings.
public protocol ProtoMapKey: Hashable, Sendable {
  init?(mapKey: String)
  var mapKey: String { get }
}
extension String: ProtoMapKey {
  public init?(mapKey: String) { self = mapKey }
  public var mapKey: String { self }
}
extension Bool: ProtoMapKey {
  public init?(mapKey: String) {
    switch mapKey {
    case "true": self = true
    case "false": self = false
    default: return nil
    }
  }
  public var mapKey: String { self ? "true" : "false" }
}
extension Int32: ProtoMapKey {
  public init?(mapKey: String) { self.init(mapKey) }
  public var mapKey: String { String(self) }
}
extension Int64: ProtoMapKey {
  public init?(mapKey: String) { self.init(mapKey) }
  public var mapKey: String { String(self) }
}
extension UInt32: ProtoMapKey {
  public init?(mapKey: String) { self.init(mapKey) }
  public var mapKey: String { String(self) }
}
extension UInt64: ProtoMapKey {
  public init?(mapKey: String) { self.init(mapKey) }
  public var mapKey: String { String(self) }
}

/// The helpers the generated code calls.
public enum ProtoJSON {
  static func describe(_ json: JSONValue) -> String {
    switch json {
    case .null: return "null"
    case .bool(let value): return String(value)
    case .integer(let value): return String(value)
    case .number(let value): return String(value)
    case .string(let value): return "\"\(value.prefix(40))\""
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  public static func object(_ json: JSONValue, _ message: String) throws -> [String: JSONValue] {
    guard case .object(let object) = json else {
      throw ProtoJSONError.typeMismatch(path: message, expected: "an object", got: describe(json))
    }
    return object
  }

  /// A field's value by its JSON or .proto name; null is the default value, as absent.
  public static func field(_ object: [String: JSONValue], _ jsonName: String, _ protoName: String)
    -> JSONValue?
  {
    guard let value = object[jsonName] ?? object[protoName] else { return nil }
    if case .null = value { return nil }
    return value
  }

  /// A google.protobuf.Value field: null is a value (NullValue), not absence.
  public static func valueField(
    _ object: [String: JSONValue], _ jsonName: String, _ protoName: String
  ) -> JSONValue? {
    object[jsonName] ?? object[protoName]
  }

  public static func decode<T: ProtoJSONField>(_ json: JSONValue, _ type: T.Type, path: String)
    throws -> T
  {
    do {
      return try T(protoJSON: json)
    } catch ProtoJSONError.typeMismatch(let inner, let expected, let got) {
      // Names the field, then the one inside it that went wrong.
      let at = inner.isEmpty ? path : "\(path) > \(inner)"
      throw ProtoJSONError.typeMismatch(path: at, expected: expected, got: got)
    }
  }

  public static func repeated<T: ProtoJSONField>(_ json: JSONValue, _ type: T.Type, path: String)
    throws -> [T]
  {
    guard case .array(let items) = json else {
      throw ProtoJSONError.typeMismatch(path: path, expected: "an array", got: describe(json))
    }
    return try items.map { try decode($0, T.self, path: path) }
  }

  public static func map<K: ProtoMapKey, V: ProtoJSONField>(
    _ json: JSONValue, _ key: K.Type, _ value: V.Type, path: String
  ) throws -> [K: V] {
    guard case .object(let object) = json else {
      throw ProtoJSONError.typeMismatch(path: path, expected: "an object", got: describe(json))
    }
    var out: [K: V] = [:]
    for (name, item) in object {
      guard let key = K(mapKey: name) else {
        throw ProtoJSONError.typeMismatch(
          path: path, expected: "a key of type \(K.self)", got: "\"\(name)\"")
      }
      out[key] = try decode(item, V.self, path: path)
    }
    return out
  }

  public static func encodeMap<K: ProtoMapKey, V: ProtoJSONField>(_ map: [K: V]) -> JSONValue {
    var object: [String: JSONValue] = [:]
    for (key, value) in map { object[key.mapKey] = value.protoJSON() }
    return .object(object)
  }

  static func mismatch(_ expected: String, _ json: JSONValue) -> ProtoJSONError {
    .typeMismatch(path: "", expected: expected, got: describe(json))
  }

  /// An integer field: a JSON number without a fraction, or a string holding one.
  static func integer<T: FixedWidthInteger>(_ json: JSONValue, _ type: T.Type) throws -> T {
    switch json {
    case .integer(let value):
      if let exact = T(exactly: value) { return exact }
    case .number(let value):
      if let exact = T(exactly: value) { return exact }
    case .string(let text):
      if let exact = T(text) { return exact }
      if let double = Double(text), let exact = T(exactly: double) { return exact }
    default:
      break
    }
    throw mismatch("an integer (\(T.self))", json)
  }

  static func floating(_ json: JSONValue) throws -> Double {
    switch json {
    case .integer(let value): return Double(value)
    case .number(let value): return value
    case .string("NaN"): return .nan
    case .string("Infinity"): return .infinity
    case .string("-Infinity"): return -.infinity
    case .string(let text):
      if let value = Double(text) { return value }
    default:
      break
    }
    throw mismatch("a number", json)
  }

  static func encodeFloating(_ value: Double) -> JSONValue {
    if value.isNaN { return .string("NaN") }
    if value.isInfinite { return .string(value < 0 ? "-Infinity" : "Infinity") }
    if value == value.rounded(), let exact = Int64(exactly: value) { return .integer(exact) }
    return .number(value)
  }
}

// The scalar types: the error's path is filled in by ProtoJSON.decode.
extension Int32: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws { self = try ProtoJSON.integer(json, Int32.self) }
  public func protoJSON() -> JSONValue { .integer(Int64(self)) }
}
extension UInt32: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws { self = try ProtoJSON.integer(json, UInt32.self) }
  public func protoJSON() -> JSONValue { .integer(Int64(self)) }
}
extension Int64: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws { self = try ProtoJSON.integer(json, Int64.self) }
  /// A string: JSON numbers lose precision past 2^53.
  public func protoJSON() -> JSONValue { .string(String(self)) }
}
extension UInt64: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws { self = try ProtoJSON.integer(json, UInt64.self) }
  public func protoJSON() -> JSONValue { .string(String(self)) }
}
extension Double: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws { self = try ProtoJSON.floating(json) }
  public func protoJSON() -> JSONValue { ProtoJSON.encodeFloating(self) }
}
extension Float: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws { self = Float(try ProtoJSON.floating(json)) }
  public func protoJSON() -> JSONValue { ProtoJSON.encodeFloating(Double(self)) }
}
extension Bool: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws {
    switch json {
    case .bool(let value): self = value
    case .string("true"): self = true
    case .string("false"): self = false
    default: throw ProtoJSON.mismatch("a boolean", json)
    }
  }
  public func protoJSON() -> JSONValue { .bool(self) }
}
extension String: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws {
    guard case .string(let value) = json else { throw ProtoJSON.mismatch("a string", json) }
    self = value
  }
  public func protoJSON() -> JSONValue { .string(self) }
}
extension Data: ProtoJSONField {
  /// Base64, standard or URL-safe, with or without padding.
  public init(protoJSON json: JSONValue) throws {
    guard case .string(var text) = json else { throw ProtoJSON.mismatch("base64", json) }
    text = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while text.count % 4 != 0 { text += "=" }
    guard let data = Data(base64Encoded: text) else { throw ProtoJSON.mismatch("base64", json) }
    self = data
  }
  public func protoJSON() -> JSONValue { .string(base64EncodedString()) }
}

/// A unary method of the API, typed by its request and response: the generated service
/// namespaces hold one per method (Coplan_V1_PlanService.getPlan).
public struct ProtoMethod<Request: ProtoMessage, Response: ProtoMessage>: Sendable, Hashable {
  /// "coplan.v1.PlanService/GetPlan", as coplan_call_json takes it.
  public let path: String
  public init(_ path: String) { self.path = path }
}
