// Signs in as the harness's Alex, follows the crisis plan until it is live, prints it, and
// exits 0: proof that the released package links and works.
import CoplanKit
import Foundation

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("consumer: \(message)\n".utf8))
  exit(1)
}

let env = ProcessInfo.processInfo.environment
guard let server = env["COPLAN_TEST_SERVER"], let user = env["COPLAN_TEST_ALEX"],
  let password = env["COPLAN_TEST_PASSWORD"], let plan = env["COPLAN_TEST_PLAN"],
  let dir = env["COPLAN_TEST_DIR"]
else { fail("run under coplan_binding_test_harness") }

guard CoplanClient.abiVersion == 1 else { fail("ABI \(CoplanClient.abiVersion)") }
print("libcoplan \(CoplanClient.libraryVersion), ABI \(CoplanClient.abiVersion)")

var options = CoplanClient.Options(server: server)
options.tls = false
options.cachePath = dir + "/consumer.cache"
var generator = SystemRandomNumberGenerator()
options.cacheKey = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
do {
  let client = try CoplanClient(options)
  defer { client.close() }
  try await client.signIn(username: user, password: password)
  for try await event in client.follow(plan) {
    if let document = event.document, document.live {
      print("\(document.document?.plan?.title ?? "?"): revision \(document.serverRevision)")
      break
    }
  }
} catch {
  fail("\(error)")
}
