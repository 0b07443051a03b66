// The well-known types (google/protobuf/*.proto) in their special proto3 JSON forms. The
// generator maps them here instead of generating them.
import Foundation

// MARK: Value, Struct, ListValue: arbitrary JSON.

extension JSONValue: ProtoJSONField {
  public init(protoJSON json: JSONValue) throws { self = json }
  public func protoJSON() -> JSONValue { self }
}

extension Dictionary: ProtoJSONField where Key == String, Value == JSONValue {
  public init(protoJSON json: JSONValue) throws {
    guard case .object(let object) = json else {
      throw ProtoJSON.mismatch("an object (google.protobuf.Struct)", json)
    }
    self = object
  }
  public func protoJSON() -> JSONValue { .object(self) }
}

extension Array: ProtoJSONField where Element == JSONValue {
  public init(protoJSON json: JSONValue) throws {
    guard case .array(let array) = json else {
      throw ProtoJSON.mismatch("an array (google.protobuf.ListValue)", json)
    }
    self = array
  }
  public func protoJSON() -> JSONValue { .array(self) }
}

/// google.protobuf.NullValue: always null.
public enum ProtoNullValue: ProtoJSONField {
  case nullValue
  public init() { self = .nullValue }
  public init(protoJSON json: JSONValue) throws { self = .nullValue }
  public func protoJSON() -> JSONValue { .null }
  public var rawValue: Int32 { 0 }
}

/// google.protobuf.Empty: {}.
public struct ProtoEmpty: ProtoJSONField {
  public init() {}
  public init(protoJSON json: JSONValue) throws {
    _ = try ProtoJSON.object(json, "google.protobuf.Empty")
  }
  public func protoJSON() -> JSONValue { .object([:]) }
}

// MARK: Timestamp and Duration.

/// google.protobuf.Timestamp: RFC 3339 in UTC, "2026-03-01T09:30:00.5Z". Read with 0 to 9
/// fraction digits and any offset; written with 0, 3, 6 or 9 digits and "Z".
public struct ProtoTimestamp: ProtoJSONField, Comparable {
  public var seconds: Int64
  public var nanos: Int32

  public init(seconds: Int64 = 0, nanos: Int32 = 0) {
    self.seconds = seconds
    self.nanos = nanos
  }

  public init(date: Date) {
    let interval = date.timeIntervalSince1970
    var seconds = Int64(interval.rounded(.down))
    var nanos = Int32(((interval - Double(seconds)) * 1e9).rounded())
    if nanos >= 1_000_000_000 {
      seconds += 1
      nanos -= 1_000_000_000
    }
    self.init(seconds: seconds, nanos: nanos)
  }

  public var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1e9) }

  public static func < (a: ProtoTimestamp, b: ProtoTimestamp) -> Bool {
    (a.seconds, a.nanos) < (b.seconds, b.nanos)
  }

  public init(protoJSON json: JSONValue) throws {
    guard case .string(let text) = json, let parsed = ProtoTimestamp(rfc3339: text) else {
      throw ProtoJSON.mismatch("an RFC 3339 timestamp", json)
    }
    self = parsed
  }

  public func protoJSON() -> JSONValue { .string(rfc3339) }

  // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), and back.
  static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
  }

  static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = days + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  public init?(rfc3339 text: String) {
    let chars = Array(text.utf8)
    var index = 0
    func number(_ count: Int) -> Int64? {
      guard index + count <= chars.count else { return nil }
      var value: Int64 = 0
      for char in chars[index..<index + count] {
        guard char >= 48 && char <= 57 else { return nil }
        value = value * 10 + Int64(char - 48)
      }
      index += count
      return value
    }
    func expect(_ char: UInt8...) -> Bool {
      guard index < chars.count, char.contains(chars[index]) else { return false }
      index += 1
      return true
    }
    guard let year = number(4), expect(45), let month = number(2), expect(45),
      let day = number(2), expect(84, 116), let hour = number(2), expect(58),
      let minute = number(2), expect(58), let second = number(2),
      (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
    else { return nil }
    var nanos: Int64 = 0
    if index < chars.count && chars[index] == 46 {
      index += 1
      var digits = 0
      while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
        guard digits < 9 else { return nil }
        nanos = nanos * 10 + Int64(chars[index] - 48)
        digits += 1
        index += 1
      }
      guard digits > 0 else { return nil }
      for _ in digits..<9 { nanos *= 10 }
    }
    var offset: Int64 = 0
    if expect(90, 122) {
      offset = 0
    } else if index < chars.count, chars[index] == 43 || chars[index] == 45 {
      let sign: Int64 = chars[index] == 45 ? -1 : 1
      index += 1
      guard let oh = number(2), expect(58), let om = number(2) else { return nil }
      offset = sign * (oh * 3600 + om * 60)
    } else {
      return nil
    }
    guard index == chars.count else { return nil }
    let days = ProtoTimestamp.days(year: year, month: month, day: day)
    self.init(
      seconds: days * 86400 + hour * 3600 + minute * 60 + second - offset, nanos: Int32(nanos))
  }

  public var rfc3339: String {
    let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
    let rest = seconds - days * 86400
    let (year, month, day) = ProtoTimestamp.civil(days: days)
    func pad(_ value: Int64, _ width: Int) -> String {
      let text = String(value)
      return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    var out =
      "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3600, 2)):"
      + "\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2))"
    out += ProtoTimestamp.fraction(nanos)
    return out + "Z"
  }

  /// "", ".500", ".000001", ".123456789": 0, 3, 6 or 9 digits, as protobuf writes them.
  static func fraction(_ nanos: Int32) -> String {
    guard nanos != 0 else { return "" }
    let value = Int64(abs(nanos))
    func pad(_ v: Int64, _ width: Int) -> String {
      let text = String(v)
      return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    if value % 1_000_000 == 0 { return "." + pad(value / 1_000_000, 3) }
    if value % 1000 == 0 { return "." + pad(value / 1000, 6) }
    return "." + pad(value, 9)
  }
}

/// google.protobuf.Duration: "1.5s", "-0.001s".
public struct ProtoDuration: ProtoJSONField {
  public var seconds: Int64
  public var nanos: Int32

  public init(seconds: Int64 = 0, nanos: Int32 = 0) {
    self.seconds = seconds
    self.nanos = nanos
  }

  public init(protoJSON json: JSONValue) throws {
    guard case .string(var text) = json, text.hasSuffix("s") else {
      throw ProtoJSON.mismatch("a duration (\"1.5s\")", json)
    }
    text.removeLast()
    let negative = text.hasPrefix("-")
    if negative { text.removeFirst() }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count <= 2, let whole = Int64(parts[0]),
      parts.count == 1 || (1...9).contains(parts[1].count) && parts[1].allSatisfy(\.isNumber)
    else { throw ProtoJSON.mismatch("a duration (\"1.5s\")", json) }
    var nanos: Int64 = 0
    if parts.count == 2 {
      nanos = Int64(parts[1])!
      for _ in parts[1].count..<9 { nanos *= 10 }
    }
    self.init(seconds: negative ? -whole : whole, nanos: Int32(negative ? -nanos : nanos))
  }

  public func protoJSON() -> JSONValue {
    let negative = seconds < 0 || nanos < 0
    return .string(
      (negative ? "-" : "") + String(abs(seconds)) + ProtoTimestamp.fraction(nanos) + "s")
  }
}

// MARK: FieldMask and Any.

/// google.protobuf.FieldMask: "displayName,crisisPlan.warningSigns" in JSON; paths as in
/// the .proto files ("display_name").
public struct ProtoFieldMask: ProtoJSONField {
  public var paths: [String]

  public init(paths: [String] = []) { self.paths = paths }

  public init(protoJSON json: JSONValue) throws {
    guard case .string(let text) = json else { throw ProtoJSON.mismatch("a field mask", json) }
    paths = text.isEmpty ? [] : text.split(separator: ",").map { path in
      var out = ""
      for char in path {
        if char.isUppercase {
          out += "_" + char.lowercased()
        } else {
          out.append(char)
        }
      }
      return out
    }
  }

  public func protoJSON() -> JSONValue {
    .string(
      paths.map { path in
        var out = ""
        var upper = false
        for char in path {
          if char == "_" {
            upper = true
          } else {
            out += upper ? char.uppercased() : String(char)
            upper = false
          }
        }
        return out
      }.joined(separator: ","))
  }
}

/// google.protobuf.Any: {"@type": "type.googleapis.com/coplan.v1.EditConflict", ...the
/// message's fields}. Holds the JSON; unpack(_:) reads it as a generated message.
public struct ProtoAny: ProtoJSONField {
  public var typeURL: String
  /// The message's fields (for a well-known type, {"value": ...}).
  public var fields: [String: JSONValue]

  public init(typeURL: String, fields: [String: JSONValue] = [:]) {
    self.typeURL = typeURL
    self.fields = fields
  }

  public init<M: ProtoMessage>(packing message: M) {
    typeURL = "type.googleapis.com/" + M.protoMessageName
    fields = message.protoJSON().objectValue ?? [:]
  }

  /// The full name of the message inside ("coplan.v1.EditConflict").
  public var typeName: String {
    typeURL.split(separator: "/").last.map(String.init) ?? typeURL
  }

  /// The message if it is an M, else nil.
  public func unpack<M: ProtoMessage>(_ type: M.Type) throws -> M? {
    guard typeName == M.protoMessageName else { return nil }
    return try M(protoJSON: .object(fields))
  }

  public init(protoJSON json: JSONValue) throws {
    var object = try ProtoJSON.object(json, "google.protobuf.Any")
    guard case .string(let url)? = object.removeValue(forKey: "@type") else {
      throw ProtoJSONError.typeMismatch(
        path: "google.protobuf.Any", expected: "an \"@type\"", got: "none")
    }
    typeURL = url
    fields = object
  }

  public func protoJSON() -> JSONValue {
    var object = fields
    object["@type"] = .string(typeURL)
    return .object(object)
  }
}
