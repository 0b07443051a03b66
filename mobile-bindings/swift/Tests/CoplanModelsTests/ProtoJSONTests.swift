// The generated models against the proto3 JSON mapping (no server, no libcoplan).
import Foundation
import XCTest

@testable import CoplanModels

final class ProtoJSONTests: XCTestCase {
  func json(_ text: String) throws -> JSONValue { try JSONValue(jsonData: Data(text.utf8)) }

  func testInt64AsStringsBothWays() throws {
    var batch = Coplan_Client_V1_PendingBatch()
    batch.id = 9_007_199_254_740_993  // past 2^53: exact only as a string
    batch.baseRevision = -3
    let out = batch.protoJSON()
    XCTAssertEqual(out["id"], .string("9007199254740993"))
    XCTAssertEqual(out["baseRevision"], .string("-3"))
    XCTAssertEqual(try Coplan_Client_V1_PendingBatch(protoJSON: out), batch)
    // Read from numbers too, and from the .proto names.
    let read = try Coplan_Client_V1_PendingBatch(jsonString: #"{"id": 12, "base_revision": "7"}"#)
    XCTAssertEqual(read.id, 12)
    XCTAssertEqual(read.baseRevision, 7)
    XCTAssertThrowsError(try Coplan_Client_V1_PendingBatch(jsonString: #"{"id": 1.5}"#))
    XCTAssertThrowsError(try Coplan_Client_V1_PendingBatch(jsonString: #"{"id": "x"}"#))
    // int32 as numbers.
    var document = Coplan_Client_V1_CachedDocument()
    document.pendingBatches = 2
    XCTAssertEqual(document.protoJSON()["pendingBatches"], .integer(2))
  }

  func testEnumsAsNames() throws {
    var batch = Coplan_Client_V1_PendingBatch()
    batch.state = .conflict
    XCTAssertEqual(batch.protoJSON()["state"], .string("STATE_CONFLICT"))
    XCTAssertEqual(try Coplan_Client_V1_PendingBatch(jsonString: #"{"state": "STATE_QUEUED"}"#).state, .queued)
    XCTAssertEqual(try Coplan_Client_V1_PendingBatch(jsonString: #"{"state": 2}"#).state, .conflict)
    // A number this version does not know survives a round trip.
    let future = try Coplan_Client_V1_PendingBatch(jsonString: #"{"state": 42}"#)
    XCTAssertEqual(future.state, .unrecognized(42))
    XCTAssertEqual(future.protoJSON()["state"], .integer(42))
    XCTAssertThrowsError(try Coplan_Client_V1_PendingBatch(jsonString: #"{"state": "STATE_NOPE"}"#))
    XCTAssertEqual(Coplan_Client_V1_Resolution.Choice.keepMine.protoName, "CHOICE_KEEP_MINE")
    XCTAssertEqual(Coplan_V1_RevisionKind(rawValue: 3), .edit)
  }

  func testDefaultsAreLeftOut() throws {
    XCTAssertEqual(Coplan_Client_V1_CachedDocument().jsonString(), "{}")
    var state = Coplan_Client_V1_SessionState()
    state.signedIn = false
    state.person = ""
    XCTAssertEqual(state.jsonString(), "{}")
    state.signedIn = true
    XCTAssertEqual(state.jsonString(), #"{"signedIn":true}"#)
    // null reads as the default.
    XCTAssertEqual(try Coplan_Client_V1_SessionState(jsonString: #"{"person": null}"#), Coplan_Client_V1_SessionState())
  }

  func testTimestampsWithZeroToNineFractionDigits() throws {
    let cases: [(String, Int64, Int32)] = [
      ("1970-01-01T00:00:00Z", 0, 0),
      ("2026-03-01T09:30:00.5Z", 1_772_357_400, 500_000_000),
      ("2026-03-01T09:30:00.12Z", 1_772_357_400, 120_000_000),
      ("2026-03-01T09:30:00.123456789Z", 1_772_357_400, 123_456_789),
      ("2026-03-01T10:30:00.000001+01:00", 1_772_357_400, 1000),
      ("1969-12-31T23:59:59.9Z", -1, 900_000_000),
    ]
    for (text, seconds, nanos) in cases {
      let stamp = try ProtoTimestamp(protoJSON: .string(text))
      XCTAssertEqual(stamp.seconds, seconds, text)
      XCTAssertEqual(stamp.nanos, nanos, text)
      XCTAssertEqual(try ProtoTimestamp(protoJSON: stamp.protoJSON()), stamp, text)
    }
    XCTAssertEqual(ProtoTimestamp(seconds: 1_772_357_400, nanos: 500_000_000).rfc3339, "2026-03-01T09:30:00.500Z")
    XCTAssertEqual(ProtoTimestamp(seconds: 1_772_357_400, nanos: 1000).rfc3339, "2026-03-01T09:30:00.000001Z")
    XCTAssertEqual(ProtoTimestamp(seconds: 1_772_357_400, nanos: 1).rfc3339, "2026-03-01T09:30:00.000000001Z")
    XCTAssertEqual(ProtoTimestamp(seconds: 1_772_357_400).rfc3339, "2026-03-01T09:30:00Z")
    for bad in ["2026-03-01", "2026-03-01T09:30:00", "2026-03-01T09:30:00.1234567890Z", "2026-13-01T00:00:00Z", "2026-03-01T09:30:00.Z"] {
      XCTAssertThrowsError(try ProtoTimestamp(protoJSON: .string(bad)), bad)
    }
    let date = Date(timeIntervalSince1970: 1_772_357_400.25)
    XCTAssertEqual(ProtoTimestamp(date: date).nanos, 250_000_000)
    XCTAssertEqual(ProtoTimestamp(date: date).date, date)
    XCTAssertEqual(try ProtoDuration(protoJSON: "1.5s").nanos, 500_000_000)
    XCTAssertEqual(ProtoDuration(seconds: -1, nanos: -500_000_000).protoJSON(), "-1.500s")
  }

  func testValueAndStructAreArbitraryJSON() throws {
    let text = #"{"path": "crisis_plan.title", "mine": {"a": [1, 2.5, "x", true, null, {"b": {}}]}, "theirs": null}"#
    let conflict = try Coplan_Client_V1_Conflict(jsonString: text)
    XCTAssertEqual(conflict.mine, ["a": [1, 2.5, "x", true, nil, ["b": [:]]]])
    XCTAssertEqual(conflict.theirs, .null, "null is a Value, not absence")
    XCTAssertEqual(try Coplan_Client_V1_Conflict(jsonData: conflict.jsonData()), conflict)
    var update = Coplan_V1_UpdateItem()
    update.fields = ["text": "hello", "n": 3]
    XCTAssertEqual(update.protoJSON()["fields"], ["text": "hello", "n": 3])
    XCTAssertThrowsError(try Coplan_V1_UpdateItem(jsonString: #"{"fields": [1]}"#))
  }

  func testAnyWithTypeAndMaps() throws {
    let text = #"""
      {"code": 10, "message": "conflict", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "EDIT_CONFLICT",
         "domain": "coplan.app", "metadata": {"path": "title", "revision": "4"}},
        {"@type": "type.googleapis.com/coplan.v1.EditConflict", "path": "title",
         "currentValue": "Theirs", "currentRevision": "4"}]}
      """#
    let status = try Google_Rpc_Status(jsonString: text)
    XCTAssertEqual(status.code, 10)
    XCTAssertEqual(status.details.count, 2)
    XCTAssertEqual(status.details[0].typeName, "google.rpc.ErrorInfo")
    let info = try XCTUnwrap(status.details[0].unpack(Google_Rpc_ErrorInfo.self))
    XCTAssertEqual(info.metadata, ["path": "title", "revision": "4"])
    XCTAssertNil(try status.details[0].unpack(Coplan_V1_EditConflict.self))
    let conflict = try XCTUnwrap(status.details[1].unpack(Coplan_V1_EditConflict.self))
    XCTAssertEqual(conflict.currentRevision, 4)
    XCTAssertEqual(conflict.currentValue, "Theirs")
    // Written back with "@type".
    let any = ProtoAny(packing: conflict)
    XCTAssertEqual(any.protoJSON()["@type"], "type.googleapis.com/coplan.v1.EditConflict")
    XCTAssertEqual(try Google_Rpc_Status(jsonData: status.jsonData()), status)
    XCTAssertThrowsError(try Google_Rpc_Status(jsonString: #"{"details": [{"reason": "x"}]}"#))
  }

  func testOneofsAndRepeated() throws {
    var insert = Coplan_V1_InsertItem()
    insert.listPath = "crisis_plan.warning_signs"
    insert.item = ["text": "text my sister"]
    var position = Coplan_V1_ItemPosition()
    position.atStart = true
    insert.position = position
    var operation = Coplan_V1_EditOperation()
    operation.insertItem = insert
    var request = Coplan_Client_V1_EditRequest()
    request.document = "people/me/plans/p"
    request.operations = [operation, operation]
    let out = request.protoJSON()
    XCTAssertEqual(out["operations"]?.arrayValue?.count, 2)
    XCTAssertEqual(out["operations"]?.arrayValue?[0]["insertItem"]?["position"], ["atStart": true])
    let back = try Coplan_Client_V1_EditRequest(protoJSON: out)
    XCTAssertEqual(back, request)
    if case .insertItem(let item)? = back.operations[0].operation {
      XCTAssertEqual(item.listPath, "crisis_plan.warning_signs")
    } else {
      XCTFail("not an insertItem")
    }
    XCTAssertNil(back.operations[0].removeItem)
    // The event oneofs.
    let event = try Coplan_Client_V1_DocumentEvent(jsonString: #"{"ended": {"code": 5, "message": "gone"}}"#)
    XCTAssertEqual(event.ended?.code, 5)
    XCTAssertNil(event.document)
  }

  func testWrongTypesNameTheField() throws {
    XCTAssertThrowsError(try Coplan_Client_V1_CachedDocument(jsonString: #"{"name": 5}"#)) { error in
      guard case .typeMismatch(let path, _, _)? = error as? ProtoJSONError else {
        return XCTFail("\(error)")
      }
      XCTAssertEqual(path, "coplan.client.v1.CachedDocument.name")
    }
    XCTAssertThrowsError(try Coplan_Client_V1_CachedDocument(jsonString: #"{"document": {"plan": {"title": []}}}"#)) { error in
      XCTAssertTrue(String(describing: error).contains("coplan.v1.Plan.title"), "\(error)")
    }
    XCTAssertThrowsError(try Coplan_Client_V1_CachedDocument(jsonString: "[]"))
    XCTAssertThrowsError(try Coplan_Client_V1_CachedDocument(jsonString: "{"))
    XCTAssertThrowsError(try Coplan_Client_V1_PendingState(jsonString: #"{"batches": {}}"#))
    XCTAssertThrowsError(try Coplan_Client_V1_SessionState(jsonString: #"{"signedIn": "yes"}"#))
  }

  func testCodableThroughFoundation() throws {
    var state = Coplan_Client_V1_SessionState()
    state.signedIn = true
    state.person = "people/p1"
    let data = try JSONEncoder().encode([state])
    XCTAssertEqual(try JSONDecoder().decode([Coplan_Client_V1_SessionState].self, from: data), [state])
  }

  func testServicesHaveTypedMethods() {
    XCTAssertEqual(Coplan_V1_PlanService.getPlan.path, "coplan.v1.PlanService/GetPlan")
    XCTAssertEqual(Coplan_V1_PeopleService.revokeGrant.path, "coplan.v1.PeopleService/RevokeGrant")
  }

  func testFieldMask() throws {
    let mask = try ProtoFieldMask(protoJSON: "displayName,crisisPlan.warningSigns")
    XCTAssertEqual(mask.paths, ["display_name", "crisis_plan.warning_signs"])
    XCTAssertEqual(mask.protoJSON(), "displayName,crisisPlan.warningSigns")
  }
}
