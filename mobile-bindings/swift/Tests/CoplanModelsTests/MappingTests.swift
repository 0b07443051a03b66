// Every shape of field the generator maps (tools/protoc-gen-coplan-swift/testdata/
// coplan/swifttest/v1/mapping.proto), against the proto3 JSON mapping.
import Foundation
import XCTest

@testable import CoplanModels

final class MappingTests: XCTestCase {
  typealias Everything = Coplan_Swifttest_V1_Everything

  func testScalarsInTheirJSONForms() throws {
    var m = Everything()
    m.i32 = -5
    m.i64 = -9_007_199_254_740_993
    m.u32 = 4_000_000_000
    m.u64 = 18_446_744_073_709_551_615
    m.s32 = -1
    m.s64 = -2
    m.f32 = 7
    m.f64 = 8
    m.sf32 = -9
    m.sf64 = -10
    m.fl = 1.5
    m.db = .infinity
    m.flag = true
    m.text = "é \"quoted\""
    m.data = Data([0, 1, 0xfe, 0xff])
    let json = m.protoJSON()
    XCTAssertEqual(json["i32"], JSONValue.integer(-5))
    XCTAssertEqual(json["i64"], "-9007199254740993")
    XCTAssertEqual(json["u32"], JSONValue.integer(4_000_000_000))
    XCTAssertEqual(json["u64"], "18446744073709551615")
    XCTAssertEqual(json["s64"], "-2")
    XCTAssertEqual(json["f64"], "8")
    XCTAssertEqual(json["sf64"], "-10")
    XCTAssertEqual(json["fl"], JSONValue.number(1.5))
    XCTAssertEqual(json["db"], "Infinity")
    XCTAssertEqual(json["data"], "AAH+/w==")
    XCTAssertEqual(try Everything(jsonData: m.jsonData()), m)
    // URL-safe base64 without padding, numbers as strings, NaN.
    let read = try Everything(jsonString: #"{"data": "AAH-_w", "i32": "12", "db": "NaN", "fl": 2}"#)
    XCTAssertEqual(read.data, Data([0, 1, 0xfe, 0xff]))
    XCTAssertEqual(read.i32, 12)
    XCTAssertTrue(read.db.isNaN)
    XCTAssertEqual(read.fl, 2)
    XCTAssertThrowsError(try Everything(jsonString: #"{"i32": 3000000000}"#), "int32 overflow")
    XCTAssertThrowsError(try Everything(jsonString: #"{"u64": -1}"#))
  }

  func testOptionalFieldsHavePresence() throws {
    var m = Everything()
    XCTAssertEqual(m.jsonString(), "{}")
    m.maybeCount = 0
    m.maybeText = ""
    m.maybeColor = .unspecified
    // Set to their defaults, and still written: proto3 `optional` has presence.
    XCTAssertEqual(m.jsonString(), #"{"maybeColor":"COLOR_UNSPECIFIED","maybeCount":"0","maybeText":""}"#)
    let back = try Everything(jsonData: m.jsonData())
    XCTAssertEqual(back.maybeCount, 0)
    XCTAssertEqual(back.maybeText, "")
    XCTAssertNil(try Everything(jsonString: #"{"maybeCount": null}"#).maybeCount)
  }

  func testRepeatedAndMaps() throws {
    var inner = Everything.Inner()
    inner.id = "a"
    inner.kind = .a
    var m = Everything()
    m.counts = [1, -2]
    m.colors = [.red, .green]
    m.inners = [inner]
    m.byName = ["x": 5]
    m.byNumber = [-3: inner]
    m.byFlag = [true: "yes"]
    m.byId = [18_446_744_073_709_551_615: .red]
    let json = m.protoJSON()
    XCTAssertEqual(json["counts"], ["1", "-2"])
    XCTAssertEqual(json["colors"], ["COLOR_RED", "COLOR_GREEN"])
    XCTAssertEqual(json["byName"], ["x": "5"])
    XCTAssertEqual(json["byNumber"], ["-3": ["id": "a", "kind": "KIND_A"]])
    XCTAssertEqual(json["byFlag"], ["true": "yes"])
    XCTAssertEqual(json["byId"], ["18446744073709551615": "COLOR_RED"])
    XCTAssertEqual(try Everything(protoJSON: json), m)
    XCTAssertThrowsError(try Everything(jsonString: #"{"byNumber": {"x": {}}}"#), "a key that is no int32")
    XCTAssertThrowsError(try Everything(jsonString: #"{"counts": "1"}"#))
    // The .proto names are read too.
    XCTAssertEqual(try Everything(jsonString: #"{"by_name": {"k": 1}}"#).byName, ["k": 1])
  }

  func testEnumAliasesAndNames() throws {
    XCTAssertEqual(Coplan_Swifttest_V1_Color.verde, .green)
    XCTAssertEqual(Coplan_Swifttest_V1_Color(protoName: "COLOR_VERDE"), .green)
    XCTAssertEqual(Coplan_Swifttest_V1_Color.color2d.rawValue, 3)
    XCTAssertEqual(Coplan_Swifttest_V1_Color.allCases.count, 4)
  }

  func testOneofWithAValue() throws {
    var m = Everything()
    m.choiceValue = .null
    XCTAssertEqual(m.protoJSON()["choiceValue"], .null, "a null Value is written")
    XCTAssertEqual(try Everything(jsonString: #"{"choiceValue": null}"#).choice, .choiceValue(.null))
    m.choiceText = "t"
    XCTAssertNil(m.choiceValue)
    XCTAssertEqual(m.jsonString(), #"{"choiceText":"t"}"#)
    m.choiceText = nil
    XCTAssertNil(m.choice)
    var inner = Everything.Inner()
    inner.id = "i"
    m.choiceInner = inner
    XCTAssertEqual(try Everything(jsonData: m.jsonData()).choiceInner?.id, "i")
  }

  func testWellKnownTypes() throws {
    let text = #"""
      {"any": {"@type": "type.googleapis.com/coplan.swifttest.v1.Holder", "type": {"x": 3}},
       "wait": "-0.250s", "boxedCount": "42", "boxedText": "", "object": {"a": [1, {}]},
       "list": [true, null], "mask": "maybeCount,byName.x", "nothing": {},
       "when": "2026-03-01T09:30:00.123Z", "values": [1, "two"], "attributes": {"k": null},
       "value": {"deep": [[]]}}
      """#
    let m = try Everything(jsonString: text)
    let holder = try XCTUnwrap(m.any?.unpack(Coplan_Swifttest_V1_Holder.self))
    XCTAssertEqual(holder.type?.x, 3)
    XCTAssertEqual(m.wait, ProtoDuration(seconds: 0, nanos: -250_000_000))
    XCTAssertEqual(m.boxedCount, 42)
    XCTAssertEqual(m.boxedText, "", "a wrapper holds its default when present")
    XCTAssertEqual(m.object, ["a": [1, [:]]])
    XCTAssertEqual(m.list, [true, nil])
    XCTAssertEqual(m.mask?.paths, ["maybe_count", "by_name.x"])
    XCTAssertEqual(m.nothing, ProtoEmpty())
    XCTAssertEqual(m.when?.nanos, 123_000_000)
    XCTAssertEqual(m.values, [1, "two"])
    XCTAssertEqual(m.attributes, ["k": .null])
    XCTAssertEqual(m.value, ["deep": [[]]])
    let back = try Everything(jsonData: m.jsonData())
    XCTAssertEqual(back, m)
    XCTAssertEqual(m.protoJSON()["boxedCount"], "42")
    XCTAssertEqual(m.protoJSON()["wait"], "-0.250s")
    XCTAssertNil(try Everything(jsonString: #"{"boxedCount": null}"#).boxedCount)
  }

  func testNamesSwiftReserves() throws {
    var m = Everything()
    m.default = "d"
    m.self_ = "s"
    m.type = 2
    XCTAssertEqual(m.jsonString(), #"{"default":"d","self":"s","type":2}"#)
    XCTAssertEqual(try Everything(jsonData: m.jsonData()), m)
    var holder = Coplan_Swifttest_V1_Holder()
    holder.types = [Coplan_Swifttest_V1_Holder.Type_()]
    XCTAssertEqual(holder.jsonString(), #"{"types":[{}]}"#)
  }
}
