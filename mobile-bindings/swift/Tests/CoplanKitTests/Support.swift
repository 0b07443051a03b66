// What the scenarios share: the harness's environment, its control socket, clients with
// their own caches, and waiting for stream events with a deadline.
import Foundation
import XCTest

@testable import CoplanKit

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The harness's environment (tests/bindings/harness/binding_test_harness.cc).
struct Harness {
  let server: String
  let control: String
  let password: String
  let alex: String
  let clinician: String
  let carer: String
  let carerGrant: String
  let plan: String
  let dir: String

  static func fromEnvironment() throws -> Harness {
    let env = ProcessInfo.processInfo.environment
    func need(_ name: String) throws -> String {
      guard let value = env[name], !value.isEmpty else {
        throw XCTSkip("\(name) is not set: run under coplan_binding_test_harness")
      }
      return value
    }
    return Harness(
      server: try need("COPLAN_TEST_SERVER"), control: try need("COPLAN_TEST_CONTROL"),
      password: try need("COPLAN_TEST_PASSWORD"), alex: try need("COPLAN_TEST_ALEX"),
      clinician: try need("COPLAN_TEST_CLINICIAN"), carer: try need("COPLAN_TEST_CARER"),
      carerGrant: try need("COPLAN_TEST_CARER_GRANT"), plan: try need("COPLAN_TEST_PLAN"),
      dir: try need("COPLAN_TEST_DIR"))
  }

  /// Sends one control command ("stop", "start", "ping") and returns the answer line.
  @discardableResult
  func command(_ line: String) throws -> String {
    let parts = control.split(separator: ":")
    guard parts.count == 2, let port = UInt16(parts[1]) else {
      throw CoplanError(code: .invalidArgument, message: "control address \(control)")
    }
    #if canImport(Glibc)
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
      let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw CoplanError(code: .internalError, message: "socket") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    inet_pton(AF_INET, String(parts[0]), &address.sin_addr)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else { throw CoplanError(code: .unavailable, message: "control socket") }
    let request = Array((line + "\n").utf8)
    _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var answer = [UInt8]()
    var byte: UInt8 = 0
    while read(fd, &byte, 1) == 1 && byte != 10 { answer.append(byte) }
    return String(decoding: answer, as: UTF8.self)
  }

  func stopServer() throws { XCTAssertEqual(try command("stop"), "ok") }
  func startServer() throws { XCTAssertEqual(try command("start"), "ok") }
}

/// A cache (file and key) a test's clients share across restarts.
struct Device {
  let path: String
  let key: Data

  init(_ harness: Harness, _ name: String) {
    path = harness.dir + "/" + name + "-" + UUID().uuidString + ".cache"
    var generator = SystemRandomNumberGenerator()
    key = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
  }
}

/// Base of the scenarios: opens clients and closes them all at the end, then checks that
/// no continuation is left behind.
class ScenarioCase: XCTestCase {
  var harness: Harness!
  private var clients: [CoplanClient] = []

  override func setUpWithError() throws {
    harness = try Harness.fromEnvironment()
    // A test that failed while offline leaves the server stopped: start it again.
    if try harness.command("ping") == "ok" { _ = try? harness.command("start") }
  }

  override func tearDownWithError() throws {
    for client in clients { client.close() }
    clients.removeAll()
    if harness != nil { _ = try? harness.command("start") }
    try waitUntil("no continuation left after close", timeout: 10) {
      LiveContinuations.count == 0
    }
  }

  func options(_ device: Device) -> CoplanClient.Options {
    var options = CoplanClient.Options(server: harness.server)
    options.tls = false
    options.cachePath = device.path
    options.cacheKey = device.key
    options.deviceName = "XCTest"
    options.userAgent = "coplan-swift-tests/1"
    options.callDeadline = .seconds(5)
    options.maxBackoff = .milliseconds(300)
    return options
  }

  func open(_ device: Device) throws -> CoplanClient {
    let client = try CoplanClient(options(device))
    clients.append(client)
    return client
  }

  /// A client of `user` on a new device, signed in.
  func signedIn(_ user: String, _ device: Device? = nil) async throws -> (CoplanClient, Device) {
    let device = device ?? Device(harness, user)
    let client = try open(device)
    try await client.signIn(username: user, password: harness.password)
    return (client, device)
  }

  func waitUntil(
    _ what: String, timeout: TimeInterval, _ condition: () throws -> Bool
  ) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !(try condition()) {
      if Date() > deadline {
        XCTFail("timed out: \(what)")
        return
      }
      Thread.sleep(forTimeInterval: 0.05)
    }
  }

  /// Follows the plan and waits for its live copy (edits need the device's copy).
  @discardableResult
  func followLive(_ client: CoplanClient) async throws -> Recorder<DocumentEvent> {
    let followed = Recorder(client.follow(harness.plan))
    let live = try await followed.first { $0.document?.live == true }
    XCTAssertNotNil(live, "no live copy of the plan")
    return followed
  }

  /// The plan's current revision and warning signs, from the server.
  func serverPlan(_ client: CoplanClient) async throws -> Coplan_V1_Plan {
    var request = Coplan_V1_GetPlanRequest()
    request.name = harness.plan
    return try await client.call(Coplan_V1_PlanService.getPlan, request)
  }
}

/// Records what a stream yields, from its own task (cancelling a task that iterates a
/// stream would end the stream), for the test to wait on.
final class Recorder<Element: Sendable>: Sendable {
  enum End: Sendable {
    case finished
    case failed(CoplanError)
  }
  let elements = Locked<[Element]>([])
  let end = Locked<End?>(nil)
  private let task = Locked<Task<Void, Never>?>(nil)

  init<S: AsyncSequence & Sendable>(_ stream: S) where S.Element == Element {
    let consumer = Task { [elements, end] in
      do {
        for try await element in stream { elements.withLock { $0.append(element) } }
        end.withLock { $0 = .finished }
      } catch {
        end.withLock { $0 = .failed(CoplanError.wrap(error)) }
      }
    }
    task.withLock { $0 = consumer }
  }

  /// Cancels the consuming task (and so the stream).
  func cancel() { task.withLock { $0?.cancel() } }

  /// The first element that satisfies `match`, waiting up to `timeout`.
  func first(
    timeout: TimeInterval = 30, where match: (Element) -> Bool
  ) async throws -> Element? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let found = elements.current.first(where: match) { return found }
      if end.current != nil, let found = elements.current.first(where: match) { return found }
      try await Task.sleep(for: .milliseconds(50))
    }
    return nil
  }

  /// How the stream ended, waiting up to `timeout` (nil: it has not).
  func ended(timeout: TimeInterval = 30) async throws -> End? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let end = end.current { return end }
      try await Task.sleep(for: .milliseconds(50))
    }
    return nil
  }
}

extension Coplan_V1_Plan {
  var warningSignTexts: [String] { crisisPlan?.warningSigns.map(\.text) ?? [] }
}

/// A warning sign's text in a conflict's value: the item ({"text": ...}) or the text.
func conflictText(_ value: JSONValue?) -> String? {
  value?["text"]?.stringValue ?? value?.stringValue
}

extension CachedDocument {
  var warningSignTexts: [String] { document?.plan?.warningSignTexts ?? [] }
}

func insertWarningSign(_ document: String, _ text: String) -> EditRequest {
  var insert = Coplan_V1_InsertItem()
  insert.listPath = "crisis_plan.warning_signs"
  insert.item = ["text": .string(text)]
  var operation = Coplan_V1_EditOperation()
  operation.insertItem = insert
  var request = EditRequest()
  request.document = document
  request.operations = [operation]
  return request
}

func updateItem(_ path: String, text: String) -> Coplan_V1_EditOperation {
  var update = Coplan_V1_UpdateItem()
  update.itemPath = path
  update.fields = ["text": .string(text)]
  var operation = Coplan_V1_EditOperation()
  operation.updateItem = update
  return operation
}
