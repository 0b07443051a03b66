// A value behind a lock, and the counter of live continuations (for the leak tests).
import Foundation

/// A value only ever touched while its lock is held.
// @unchecked Sendable: safe because `value` is private and read or written only inside
// withLock, under `lock`; Value itself is Sendable.
final class Locked<Value: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) { self.value = value }

  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }

  var current: Value { withLock { $0 } }
}

/// How many continuations (calls awaiting an answer, listeners feeding a stream) the
/// library still holds a context for. Back to 0 once every client is closed and every
/// answer delivered: anything else is a leak. Internal: tests read it with @testable.
enum LiveContinuations {
  static let counter = Locked(0)
  static var count: Int { counter.current }
  static func increment() { counter.withLock { $0 += 1 } }
  static func decrement() { counter.withLock { $0 -= 1 } }
}
