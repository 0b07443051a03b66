// The callback triples of coplan.h (function, context, free_context) over Swift
// continuations. A context is a retained box: the C trampolines below find it, answer its
// continuation, and free_context releases it. coplan.h promises `done` once and then
// free_context once, so a box answers at most once; should a box ever be released
// unanswered, it answers CANCELLED itself, so no awaiting task hangs.
import CCoplan
import CoplanModels
import Foundation

/// What a call answers.
enum Answer: Sendable {
  case message(Data)
  case done
  case count(Int)
}

/// One call awaiting its answer.
final class CallBox: Sendable {
  private let continuation: Locked<CheckedContinuation<Answer, any Error>?>

  init(_ continuation: CheckedContinuation<Answer, any Error>) {
    self.continuation = Locked(continuation)
    LiveContinuations.increment()
  }

  func resume(_ result: Result<Answer, CoplanError>) {
    let taken = continuation.withLock { value -> CheckedContinuation<Answer, any Error>? in
      defer { value = nil }
      return value
    }
    taken?.resume(with: result.mapError { $0 as any Error })
  }

  deinit {
    resume(.failure(CoplanError(code: .cancelled, message: "released without an answer")))
    LiveContinuations.decrement()
  }
}

/// One listener: hands each event's bytes on (copied), and says when it ends.
final class ListenerBox: Sendable {
  private let deliver: @Sendable (Data) -> Void
  private let ended: @Sendable () -> Void

  init(deliver: @escaping @Sendable (Data) -> Void, ended: @escaping @Sendable () -> Void) {
    self.deliver = deliver
    self.ended = ended
    LiveContinuations.increment()
  }

  func event(_ data: Data) { deliver(data) }

  /// The library let go of the listener (removed, its document ended, the client closed).
  deinit {
    ended()
    LiveContinuations.decrement()
  }
}

/// Makes the hand-off of a box to the library's threads visible to ThreadSanitizer. The
/// library passes the context to its callback thread through its own synchronization,
/// which TSan cannot see (libcoplan is not instrumented, and absl::Mutex waits on futexes
/// directly): without this, `swift test --sanitize=thread` reports the box's
/// initialisation racing with the callback that reads it. A lock released after the box
/// is made and taken before a callback touches it is the happens-before edge TSan needs;
/// it costs one uncontended lock per callback.
enum Handoff {
  private static let lock = NSLock()
  /// Before the context goes to the library.
  static func publish() {
    lock.lock()
    lock.unlock()
  }
  /// In a callback, before the context is used.
  static func receive() {
    lock.lock()
    lock.unlock()
  }
}

// The C trampolines. They capture nothing (C function pointers cannot), copy what they
// are given (valid during the callback only), and never throw.

func coplanFreeBox(_ context: UnsafeMutableRawPointer?) {
  guard let context else { return }
  Handoff.receive()
  Unmanaged<AnyObject>.fromOpaque(context).release()
}

func coplanOnResult(
  _ context: UnsafeMutableRawPointer?, _ error: UnsafePointer<coplan_error>?,
  _ data: UnsafePointer<UInt8>?, _ size: Int
) {
  guard let context else { return }
  Handoff.receive()
  let box = Unmanaged<CallBox>.fromOpaque(context).takeUnretainedValue()
  if let error {
    box.resume(.failure(CoplanError(error.pointee)))
  } else {
    box.resume(.success(.message(data.map { Data(bytes: $0, count: size) } ?? Data())))
  }
}

func coplanOnStatus(_ context: UnsafeMutableRawPointer?, _ error: UnsafePointer<coplan_error>?) {
  guard let context else { return }
  Handoff.receive()
  let box = Unmanaged<CallBox>.fromOpaque(context).takeUnretainedValue()
  box.resume(error.map { .failure(CoplanError($0.pointee)) } ?? .success(.done))
}

func coplanOnCount(
  _ context: UnsafeMutableRawPointer?, _ error: UnsafePointer<coplan_error>?, _ count: Int32
) {
  guard let context else { return }
  Handoff.receive()
  let box = Unmanaged<CallBox>.fromOpaque(context).takeUnretainedValue()
  box.resume(error.map { .failure(CoplanError($0.pointee)) } ?? .success(.count(Int(count))))
}

func coplanOnEvent(_ context: UnsafeMutableRawPointer?, _ data: UnsafePointer<UInt8>?, _ size: Int)
{
  guard let context else { return }
  Handoff.receive()
  let box = Unmanaged<ListenerBox>.fromOpaque(context).takeUnretainedValue()
  box.event(data.map { Data(bytes: $0, count: size) } ?? Data())
}

typealias ErrorOut = UnsafeMutablePointer<UnsafeMutablePointer<coplan_error>?>

/// Starts a call that answers through a CallBox and awaits the answer. `start` gets the
/// box's context and the error out-parameter and returns the function's code; on an error
/// code the context stays ours (coplan.h), so it is released here.
func awaitAnswer(
  _ start: (UnsafeMutableRawPointer, ErrorOut) -> Int32
) async throws(CoplanError) -> Answer {
  do {
    return try await withCheckedThrowingContinuation { continuation in
      let box = CallBox(continuation)
      let context = Unmanaged.passRetained(box).toOpaque()
      var error: UnsafeMutablePointer<coplan_error>? = nil
      Handoff.publish()
      let code = start(context, &error)
      if code != COPLAN_OK.rawValue {
        box.resume(.failure(CoplanError(returned: code, error)))
        coplan_error_free(error)
        Unmanaged<CallBox>.fromOpaque(context).release()
      }
    }
  } catch {
    throw CoplanError.wrap(error)
  }
}
