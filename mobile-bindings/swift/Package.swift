// swift-tools-version: 6.0
// CoplanKit: the iOS (and Linux) binding of the Coplan client core, over its C ABI
// (../c/coplan.h, libcoplan). See README.md.
//
// The models (Sources/CoplanModels/generated) are written by protoc-gen-coplan-swift in
// the CMake build; libcoplan is found through the linker flags the build passes
// (-Xlinker -L<dir> -Xlinker -rpath -Xlinker <dir>), or, for an app, from the binary
// target of the release (README.md, "Release shape").
import PackageDescription

let package = Package(
  name: "CoplanKit",
  platforms: [.macOS(.v13), .iOS(.v16)],
  products: [
    .library(name: "CoplanKit", targets: ["CoplanKit"]),
    .executable(name: "crisis-plan-viewer", targets: ["CrisisPlanViewer"]),
  ],
  targets: [
    // The C ABI as a Clang module: coplan.h, linked against libcoplan.
    .systemLibrary(name: "CCoplan", path: "Sources/CCoplan"),
    // The generated models and their proto3 JSON runtime (pure Swift, no C).
    .target(name: "CoplanModels", path: "Sources/CoplanModels"),
    .target(name: "CoplanKit", dependencies: ["CCoplan", "CoplanModels"]),
    .executableTarget(name: "CrisisPlanViewer", dependencies: ["CoplanKit"]),
    .testTarget(name: "CoplanModelsTests", dependencies: ["CoplanModels"]),
    .testTarget(name: "CoplanKitTests", dependencies: ["CoplanKit"]),
  ],
  swiftLanguageModes: [.v6]
)
