// The example program (Sources/CrisisPlanViewer): online once, then offline from its cache.
import Foundation
import XCTest

@testable import CoplanKit

final class ViewerTests: ScenarioCase {
  /// The viewer's executable, built next to the test bundle by `swift build --build-tests`.
  func viewer() throws -> URL {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let url = dir.appendingPathComponent("crisis-plan-viewer")
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
      throw XCTSkip("no crisis-plan-viewer at \(url.path)")
    }
    return url
  }

  func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = try viewer()
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
  }

  func testTheViewerWorksOffline() throws {
    let common = [
      "--server", harness.server, "--cache", harness.dir + "/viewer.cache",
      "--key-file", harness.dir + "/viewer.key", "--plan", harness.plan,
    ]
    let online = try run(common + ["--user", harness.alex, "--password", harness.password])
    XCTAssertEqual(online.status, 0, online.output)
    XCTAssertTrue(online.output.contains("== My crisis plan =="), online.output)
    XCTAssertTrue(online.output.contains("Up to date."), online.output)
    XCTAssertTrue(online.output.contains("Warning signs:"), online.output)

    try harness.stopServer()
    // No credentials: the session and the plan come from the encrypted cache.
    let offline = try run(common)
    XCTAssertEqual(offline.status, 0, offline.output)
    XCTAssertTrue(offline.output.contains("== My crisis plan =="), offline.output)
    XCTAssertTrue(offline.output.contains("OFFLINE: as of "), offline.output)
    XCTAssertTrue(offline.output.contains("Warning signs:"), offline.output)
    try harness.startServer()
  }
}
