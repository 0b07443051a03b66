// Arbitrary JSON: google.protobuf.Value (and Struct, ListValue) in the models, and the tree
// every model is read from and written to (ProtoJSON.swift).
import Foundation

/// A JSON value. google.protobuf.Value is a JSONValue; google.protobuf.Struct is a
/// JSONObject and google.protobuf.ListValue a JSONArray.
public enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  /// A number without a fraction or exponent that fits in 64 bits, kept exact.
  case integer(Int64)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// The number as a Double, for .integer or .number.
  public var doubleValue: Double? {
    switch self {
    case .integer(let value): return Double(value)
    case .number(let value): return value
    default: return nil
    }
  }
  public var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }
  public var boolValue: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }
  public var arrayValue: [JSONValue]? {
    if case .array(let value) = self { return value }
    return nil
  }
  public var objectValue: [String: JSONValue]? {
    if case .object(let value) = self { return value }
    return nil
  }
  public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

public typealias JSONObject = [String: JSONValue]
public typealias JSONArray = [JSONValue]

extension JSONValue: Codable {
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else if let value = try? container.decode([String: JSONValue].self) {
      self = .object(value)
    } else {
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "not JSON")
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .null: try container.encodeNil()
    case .bool(let value): try container.encode(value)
    case .integer(let value): try container.encode(value)
    case .number(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    }
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
  ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int64) { self = .integer(value) }
  public init(floatLiteral value: Double) { self = .number(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
  }
  public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
  /// Parses JSON text (UTF-8).
  public init(jsonData data: Data) throws {
    do {
      self = try JSONDecoder().decode(JSONValue.self, from: data)
    } catch {
      throw ProtoJSONError.malformed("not JSON: \(error)")
    }
  }

  /// The compact JSON text.
  public func jsonData() -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Encoding a JSONValue cannot fail except for non-finite numbers, which proto3 JSON
    // writes as strings before they get here; null is the safe answer otherwise.
    return (try? encoder.encode(self)) ?? Data("null".utf8)
  }

  public func jsonString() -> String { String(decoding: jsonData(), as: UTF8.self) }
}
