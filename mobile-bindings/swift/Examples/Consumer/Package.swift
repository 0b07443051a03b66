// swift-tools-version: 6.0
// A small app package that uses CoplanKit as released (the artifact bundle), as an app
// would: the swift_consumer_test ctest builds and runs it against a real server.
// COPLAN_RELEASE_PACKAGE is the assembled release (build/mobile-bindings/swift/release/
// CoplanKit); an app would name a released URL and version instead.
import PackageDescription

let release =
  Context.environment["COPLAN_RELEASE_PACKAGE"] ?? "../../../../build/mobile-bindings/swift/release/CoplanKit"

let package = Package(
  name: "CoplanConsumer",
  platforms: [.macOS(.v13), .iOS(.v16)],
  dependencies: [.package(name: "CoplanKit", path: release)],
  targets: [
    .executableTarget(
      name: "CoplanConsumer", dependencies: [.product(name: "CoplanKit", package: "CoplanKit")])
  ],
  swiftLanguageModes: [.v6]
)
