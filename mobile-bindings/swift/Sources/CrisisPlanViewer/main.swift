// crisis-plan-viewer: a console viewer of a crisis plan that works offline. It signs in
// once (the session and the plan stay in the encrypted cache), shows the plan as the
// device has it, says how current it is, and follows changes while the server answers.
//
//   crisis-plan-viewer --server 127.0.0.1:7443 --cache ~/.coplan/viewer.cache \
//       --key-file ~/.coplan/viewer.key [--user ID --password PW] [--plan NAME] [--follow SECONDS]
//
// The key file holds the cache's 32 bytes (made on first use). On iOS the key comes from
// the Keychain instead (README.md); never from the source code.
import CoplanKit
import Foundation

struct Arguments {
  var server = "127.0.0.1:7443"
  var cache = NSHomeDirectory() + "/.coplan/viewer.cache"
  var keyFile = NSHomeDirectory() + "/.coplan/viewer.key"
  var user: String?
  var password: String?
  var plan: String?
  var follow: Int = 0
  var tls = false

  init(_ argv: [String]) {
    var i = 1
    func value() -> String {
      i += 1
      guard i < argv.count else {
        FileHandle.standardError.write(Data("missing value for \(argv[i - 1])\n".utf8))
        exit(2)
      }
      return argv[i]
    }
    while i < argv.count {
      switch argv[i] {
      case "--server": server = value()
      case "--cache": cache = value()
      case "--key-file": keyFile = value()
      case "--user": user = value()
      case "--password": password = value()
      case "--plan": plan = value()
      case "--follow": follow = Int(value()) ?? 0
      case "--tls": tls = true
      default:
        FileHandle.standardError.write(Data("unknown argument \(argv[i])\n".utf8))
        exit(2)
      }
      i += 1
    }
  }
}

/// The cache key: 32 random bytes in a file readable by its owner only.
func cacheKey(_ path: String) throws -> Data {
  if let key = FileManager.default.contents(atPath: path), key.count == 32 { return key }
  var generator = SystemRandomNumberGenerator()
  let key = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
  try FileManager.default.createDirectory(
    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
  guard FileManager.default.createFile(
    atPath: path, contents: key, attributes: [.posixPermissions: 0o600])
  else { throw CoplanError(code: .internalError, message: "cannot write \(path)") }
  return key
}

func show(_ document: CachedDocument) {
  guard let plan = document.document?.plan else {
    print("(not a plan: \(document.name))")
    return
  }
  print("== \(plan.title) ==")
  let synced = document.lastSyncedTime.map { ISO8601DateFormatter().string(from: $0.date) } ?? "never"
  print(document.live ? "Up to date." : "OFFLINE: as of \(synced). It may have changed since.")
  if document.pendingBatches > 0 {
    print("\(document.pendingBatches) change(s) made here are waiting to be sent.")
  }
  let crisis = plan.crisisPlan
  func section(_ title: String, _ items: [String]) {
    guard !items.isEmpty else { return }
    print("\n\(title):")
    for item in items { print("  - \(item)") }
  }
  section("Warning signs", crisis?.warningSigns.map(\.text) ?? [])
  section("Things I can do", crisis?.copingStrategies.map(\.text) ?? [])
  section("Distractions", crisis?.distractions.map(\.text) ?? [])
  section("Making my surroundings safe", crisis?.safeEnvironment.map(\.text) ?? [])
  print("")
}

/// Opens the client; a wrong key or a damaged file: start again (the server has it all).
func openClient(_ options: CoplanClient.Options, cache: String) throws -> CoplanClient {
  do {
    return try CoplanClient(options)
  } catch {
    guard error.code == .dataLoss else { throw error }
    try CoplanClient.destroyCache(at: cache)
    return try CoplanClient(options)
  }
}

/// The device's copy, or nil when there is none yet.
func cachedCopy(_ client: CoplanClient, _ name: String) async throws -> CachedDocument? {
  do {
    return try await client.document(name)
  } catch {
    guard error.code == .notFound else { throw error }
    return nil
  }
}

func run() async -> Int32 {
  let arguments = Arguments(CommandLine.arguments)
  do {
    var options = CoplanClient.Options(server: arguments.server)
    options.tls = arguments.tls
    options.cachePath = arguments.cache
    options.cacheKey = try cacheKey(arguments.keyFile)
    options.deviceName = "crisis-plan-viewer"
    options.userAgent = "coplan-swift-viewer/1"
    let client = try openClient(options, cache: arguments.cache)
    defer { client.close() }
    if !(try client.session().signedIn) {
      guard let user = arguments.user, let password = arguments.password else {
        print("Not signed in on this device: give --user and --password once.")
        return 1
      }
      try await client.signIn(username: user, password: password)
    }
    let session = try client.session()
    let name: String
    if let plan = arguments.plan {
      name = plan
    } else {
      var list = Coplan_V1_ListPlansRequest()
      list.parent = session.person
      list.kind = .crisisPlan
      guard let first = try await client.call(Coplan_V1_PlanService.listPlans, list).plans.first
      else {
        print("No crisis plan yet.")
        return 1
      }
      name = first.name
    }
    // The device's copy first: it opens with no signal.
    var cachedLive = false
    if let cached = try await cachedCopy(client, name) {
      show(cached)
      cachedLive = cached.live
    } else {
      print("No copy on this device yet; waiting for the server...")
    }
    // Then follow it: changes while the server answers, for --follow seconds (or until
    // the first up-to-date copy when the cached one was not).
    let seconds = arguments.follow
    if seconds > 0 || !cachedLive {
      let events = client.follow(name)
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          for try await event in events {
            guard let document = event.document else { continue }
            if document.live && seconds == 0 {
              show(document)
              return
            }
            if seconds > 0 { show(document) }
          }
        }
        group.addTask { try await Task.sleep(for: .seconds(max(seconds, 5))) }
        _ = try await group.next()
        group.cancelAll()
      }
    }
    return 0
  } catch {
    if let error = error as? CoplanError {
      print("Could not show the plan: \(error.message) (\(error.code))")
      return 1
    }
    print("Could not show the plan: \(error)")
    return 1
  }
}

exit(await run())
