// Errors and bad input: every failure is a CoplanError with its gRPC code, never a crash;
// and no continuation outlives its client.
import Foundation
import XCTest

@testable import CoplanKit

final class ErrorTests: ScenarioCase {
  /// Runs `body` and returns the CoplanError it throws (failing if it throws none).
  func failure(
    _ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line
  ) async -> CoplanError? {
    do {
      try await body()
      XCTFail("no error", file: file, line: line)
      return nil
    } catch let error as CoplanError {
      return error
    } catch {
      XCTFail("not a CoplanError: \(error)", file: file, line: line)
      return nil
    }
  }

  func testEveryErrorHasItsCode() async throws {
    let device = Device(harness, "errors")
    let (client, _) = try await signedIn(harness.alex, device)
    try await followLive(client)

    // INVALID_ARGUMENT, with a BadRequest naming the field.
    let unknown = await failure { _ = try await client.callJSON("coplan.v1.Nope/Nothing", Data("{}".utf8)) }
    XCTAssertEqual(unknown?.code, .invalidArgument)
    XCTAssertEqual(unknown?.badRequest?.fieldViolations.first?.field, "method")

    // NOT_FOUND.
    let grid = await failure { _ = try await client.gridVersion("optionGrids/no-such-grid/versions/1") }
    XCTAssertEqual(grid?.code, .notFound)
    let missing = await failure { _ = try await client.document("people/me/plans/no-such-plan") }
    XCTAssertEqual(missing?.code, .notFound)

    // PERMISSION_DENIED or NOT_FOUND for someone else's plans: the server does not say which.
    var list = Coplan_V1_ListPlansRequest()
    list.parent = "people/\(harness.carer)"
    let others = await failure { _ = try await client.call(Coplan_V1_PlanService.listPlans, list) }
    XCTAssertTrue([.permissionDenied, .notFound].contains(others?.code), "\(String(describing: others))")

    // Resolving a conflict that does not exist.
    let resolve = await failure { try await client.resolveConflict(batchID: 987_654, choice: .takeTheirs) }
    XCTAssertNotNil(resolve?.code)

    // DEADLINE_EXCEEDED: a flush that cannot finish offline.
    try harness.stopServer()
    _ = try await client.edit(insertWarningSign(harness.plan, "offline \(UUID().uuidString.prefix(4))"))
    let flush = await failure { try await client.flush(timeout: .milliseconds(200)) }
    XCTAssertEqual(flush?.code, .deadlineExceeded)
    // FAILED_PRECONDITION: forgetting a document whose edits wait.
    let forget = await failure { try await client.forget(harness.plan) }
    XCTAssertEqual(forget?.code, .failedPrecondition)
    try harness.startServer()
    try await client.flush(timeout: .seconds(30))
    client.close()

    // DATA_LOSS: the wrong key (ErrorInfo CACHE_UNREADABLE).
    var wrongKey = options(device)
    wrongKey.cacheKey = Data(repeating: 7, count: 32)
    do {
      _ = try CoplanClient(wrongKey)
      XCTFail("opened with the wrong key")
    } catch {
      XCTAssertEqual(error.code, .dataLoss)
      XCTAssertEqual(error.errorInfo?.reason, "CACHE_UNREADABLE")
    }
    // INVALID_ARGUMENT: a key that is not 32 bytes, or no server.
    var shortKey = options(Device(harness, "short"))
    shortKey.cacheKey = Data(repeating: 1, count: 16)
    XCTAssertThrowsError(try CoplanClient(shortKey)) {
      XCTAssertEqual(($0 as? CoplanError)?.code, .invalidArgument)
    }
    XCTAssertThrowsError(try CoplanClient(CoplanClient.Options(server: ""))) {
      XCTAssertEqual(($0 as? CoplanError)?.code, .invalidArgument)
    }
  }

  func testWrongTypesInJSON() async throws {
    let (client, _) = try await signedIn(harness.alex)
    // JSON the library refuses: a number for a string.
    let request = await failure {
      _ = try await client.callJSON("coplan.v1.PlanService/ListPlans", Data("{\"parent\": 12}".utf8))
    }
    XCTAssertEqual(request?.code, .invalidArgument)
    XCTAssertTrue(request?.message.contains("coplan.v1.ListPlansRequest") ?? false)
    let garbage = await failure {
      _ = try await client.callJSON("coplan.v1.PlanService/ListPlans", Data("{not json".utf8))
    }
    XCTAssertEqual(garbage?.code, .invalidArgument)
    // JSON the models refuse, wrapped the same way.
    do {
      _ = try CachedDocument(jsonString: #"{"name": 5}"#)
      XCTFail("decoded a number as a string")
    } catch let error as ProtoJSONError {
      XCTAssertEqual(CoplanError.wrap(error).code, .invalidArgument)
      XCTAssertTrue(error.description.contains("coplan.client.v1.CachedDocument.name"), error.description)
    }
  }

  func testCallsAfterCloseAreCancelled() async throws {
    let (client, _) = try await signedIn(harness.alex)
    let followed = Recorder(client.follow(harness.plan))
    _ = try await followed.first { $0.document != nil }
    let events = Recorder(client.events)
    client.close()
    client.close()  // idempotent
    // Streams end normally when the client closes.
    guard case .finished? = try await followed.ended(timeout: 10) else {
      return XCTFail("the document stream did not finish on close")
    }
    guard case .finished? = try await events.ended(timeout: 10) else {
      return XCTFail("the client events did not finish on close")
    }
    let sign = await failure { try await client.signIn(username: self.harness.alex, password: "x") }
    XCTAssertEqual(sign?.code, .cancelled)
    let edit = await failure { try await client.edit(insertWarningSign(self.harness.plan, "late")) }
    XCTAssertEqual(edit?.code, .cancelled)
    let value1 = (await failure { _ = try await client.document(self.harness.plan) })?.code
    XCTAssertEqual(value1, .cancelled)
    let value2 = (await failure { _ = try await client.pendingState() })?.code
    XCTAssertEqual(value2, .cancelled)
    let value3 = (await failure { try await client.flush() })?.code
    XCTAssertEqual(value3, .cancelled)
    let value4 = (await failure { _ = try await client.openStreamCount() })?.code
    XCTAssertEqual(value4, .cancelled)
    let value5 = (await failure { _ = try client.session() })?.code
    XCTAssertEqual(value5, .cancelled)
    let late = Recorder(client.follow(harness.plan))
    guard case .failed(let error)? = try await late.ended(timeout: 10) else {
      return XCTFail("follow after close did not fail")
    }
    XCTAssertEqual(error.code, .cancelled)
    XCTAssertEqual(LiveContinuations.count, 0)
  }

  func testCancellingAStreamRemovesItsListener() async throws {
    let (client, _) = try await signedIn(harness.alex)
    // Only the client's own event listener is left once sign-in's context is freed.
    try waitUntil("only the client listener", timeout: 10) { LiveContinuations.count == 1 }
    let followed = try await followLive(client)
    try waitUntil("the document listener", timeout: 10) { LiveContinuations.count == 2 }
    followed.cancel()
    try waitUntil("the listener released after cancelling", timeout: 10) {
      LiveContinuations.count == 1
    }
    guard case .finished? = try await followed.ended(timeout: 10) else {
      return XCTFail("the cancelled stream did not end")
    }
    // The client carries on.
    let value6 = try await client.document(harness.plan).name
    XCTAssertEqual(value6, harness.plan)
  }

  func testManyConcurrentCallsFromManyTasks() async throws {
    let (client, _) = try await signedIn(harness.alex)
    try await followLive(client)
    let plan = harness.plan
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<40 {
        group.addTask {
          if i % 2 == 0 {
            let value7 = try await client.document(plan).name
            XCTAssertEqual(value7, plan)
          } else {
            _ = try await client.pendingState()
          }
        }
      }
      try await group.waitForAll()
    }
    client.close()
    XCTAssertEqual(LiveContinuations.count, 0)
  }
}
