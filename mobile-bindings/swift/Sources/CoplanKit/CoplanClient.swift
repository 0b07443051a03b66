// CoplanClient: the Coplan client core (libcoplan, mobile-bindings/c/coplan.h) for Swift.
// The models are part of the API: an app imports CoplanKit alone.
@_exported import CoplanModels
import CCoplan
import Foundation

/// The client library's messages under short names.
public typealias CachedDocument = Coplan_Client_V1_CachedDocument
public typealias DocumentEvent = Coplan_Client_V1_DocumentEvent
public typealias ClientEvent = Coplan_Client_V1_ClientEvent
public typealias EditRequest = Coplan_Client_V1_EditRequest
public typealias EditQueued = Coplan_Client_V1_EditQueued
public typealias Conflict = Coplan_Client_V1_Conflict
public typealias Resolution = Coplan_Client_V1_Resolution
public typealias PendingState = Coplan_Client_V1_PendingState
public typealias PendingBatch = Coplan_Client_V1_PendingBatch
public typealias SessionState = Coplan_Client_V1_SessionState
public typealias CachedGridVersion = Coplan_Client_V1_CachedGridVersion
public typealias CachedAccessLog = Coplan_Client_V1_CachedAccessLog

/// The library's client pointer, freed when the last reference goes.
// @unchecked Sendable: safe because `pointer` is immutable and coplan_client is
// thread-safe (coplan.h, "Threads": every function may be called from any thread); it is
// freed only in deinit, when nothing else can reach it.
final class ClientHandle: @unchecked Sendable {
  let pointer: OpaquePointer

  init(_ pointer: OpaquePointer) { self.pointer = pointer }

  deinit {
    // From the library's callback thread coplan_client_free refuses (it would wait for
    // itself): free it from another thread then.
    if coplan_client_free(pointer) == COPLAN_FAILED_PRECONDITION.rawValue {
      let late = LatePointer(pointer)
      DispatchQueue.global().async { _ = coplan_client_free(late.pointer) }
    }
  }
}

// @unchecked Sendable: carries a client pointer nothing else uses any more to the thread
// that frees it.
private struct LatePointer: @unchecked Sendable {
  let pointer: OpaquePointer
  init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// A Coplan client: keeps the documents the device follows in an encrypted cache, applies
/// edits at once and sends them when the server answers, and follows documents live.
///
/// Thread-safe: call it from any task or actor. Answers come back on the library's
/// callback thread and resume your task on its own executor; streams buffer events.
/// Every failure is a ``CoplanError``. After ``close()`` every call throws CANCELLED.
public final class CoplanClient: Sendable {
  public struct Options: Sendable {
    /// "host:port".
    public var server: String
    /// TLS with the system's roots (or `rootCertificates`, PEM). false: plaintext, for a
    /// server on the same machine only.
    public var tls: Bool = true
    public var rootCertificates: String? = nil
    /// The encrypted cache file; nil: nothing kept on disk.
    public var cachePath: String? = nil
    /// The cache's 32-byte key, from the Keychain (README.md); never hard-coded.
    public var cacheKey: Data? = nil
    /// Opens a device session (kept across restarts), e.g. "Alex's iPhone".
    public var deviceName: String? = nil
    public var userAgent: String? = nil
    /// How long one call to the server may take (default 10 s).
    public var callDeadline: Duration? = nil
    /// The longest wait between attempts to reach the server (default 30 s).
    public var maxBackoff: Duration? = nil

    public init(server: String) { self.server = server }
  }

  let handle: ClientHandle
  /// How many unread ``events`` are kept (the oldest are dropped past it).
  public static let eventBuffer = 1024
  /// Conflicts, refusals, acceptances, connectivity and the session's end, from the moment
  /// the client opened (so nothing is missed while the app sets up). Finishes when the
  /// client closes. One consumer (an AsyncStream has one); ``clientEvents()`` gives more.
  /// Keeps the newest ``eventBuffer`` unread events.
  public let events: AsyncStream<ClientEvent>

  /// The ABI version libcoplan implements, and its release.
  public static var abiVersion: UInt32 { coplan_abi_version() }
  public static var libraryVersion: String { String(cString: coplan_version()) }

  /// Opens the cache and, if the device was signed in, carries on where it was.
  /// DATA_LOSS (ErrorInfo reason CACHE_UNREADABLE): a wrong key or a damaged file; call
  /// ``destroyCache(at:)`` and open again.
  public init(_ options: Options) throws(CoplanError) {
    guard coplan_abi_version() == UInt32(COPLAN_ABI_VERSION) else {
      throw CoplanError(
        code: .failedPrecondition,
        message: "libcoplan implements ABI \(coplan_abi_version()), CoplanKit needs \(COPLAN_ABI_VERSION)")
    }
    // The newest events are kept for an app that reads them late (or never): conflicts
    // stay in pendingState() too, so nothing the person must decide on is lost.
    let (events, continuation) = AsyncStream<ClientEvent>.makeStream(
      bufferingPolicy: .bufferingNewest(Self.eventBuffer))
    let listener = ListenerBox(
      deliver: { data in
        if let event = try? ClientEvent(jsonData: data) { continuation.yield(event) }
      },
      ended: { continuation.finish() })
    let context = Unmanaged.passRetained(listener).toOpaque()
    Handoff.publish()
    var strings = CStrings()
    defer { strings.free() }
    var c = coplan_options()
    c.struct_size = MemoryLayout<coplan_options>.size
    c.server = strings.add(options.server)
    c.tls = options.tls ? 1 : 0
    c.root_certificates = strings.add(options.rootCertificates)
    c.cache_path = strings.add(options.cachePath)
    c.device_name = strings.add(options.deviceName)
    c.user_agent = strings.add(options.userAgent)
    c.call_deadline_ms = options.callDeadline.map(Self.milliseconds) ?? 0
    c.max_backoff_ms = options.maxBackoff.map(Self.milliseconds) ?? 0
    c.message_format = Int32(COPLAN_FORMAT_JSON.rawValue)
    c.listener = coplanOnEvent
    c.listener_context = context
    c.listener_free = coplanFreeBox
    var client: OpaquePointer? = nil
    var error: UnsafeMutablePointer<coplan_error>? = nil
    let key = options.cacheKey ?? Data()
    let code = key.withUnsafeBytes { raw -> Int32 in
      c.cache_key = raw.bindMemory(to: UInt8.self).baseAddress
      c.cache_key_size = options.cacheKey == nil ? 0 : raw.count
      return coplan_open(&c, &client, &error)
    }
    guard code == COPLAN_OK.rawValue, let client else {
      let failure = CoplanError(returned: code, error)
      coplan_error_free(error)
      // Not opened: listener_free is never called, the context is ours.
      Unmanaged<ListenerBox>.fromOpaque(context).release()
      throw failure
    }
    handle = ClientHandle(client)
    self.events = events
  }

  deinit { close() }

  static func milliseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    if seconds < 0 { return 1 }
    // A huge duration (".seconds(.max)" for "as long as it takes") is as long as possible,
    // not an overflow trap.
    let (whole, overflowed) = seconds.multipliedReportingOverflow(by: 1000)
    if overflowed { return Int64.max }
    let (total, overflowedAgain) = whole.addingReportingOverflow(
      attoseconds / 1_000_000_000_000_000)
    return overflowedAgain ? Int64.max : max(1, total)
  }

  /// Ends every call and stream (unanswered calls throw CANCELLED, streams finish) and
  /// closes the cache; waits for all of it. Idempotent. Not from inside a stream's
  /// callback (there are none in Swift: streams resume your own tasks).
  public func close() {
    _ = coplan_close(handle.pointer)
  }

  /// Deletes a cache file (and its journal) that no client has open.
  public static func destroyCache(at path: String) throws(CoplanError) {
    var error: UnsafeMutablePointer<coplan_error>? = nil
    let code = coplan_destroy_cache(path, &error)
    if code != COPLAN_OK.rawValue {
      let failure = CoplanError(returned: code, error)
      coplan_error_free(error)
      throw failure
    }
  }

  // MARK: The session

  /// Signs in and opens a device session. UNAUTHENTICATED for a wrong password.
  @discardableResult
  public func signIn(username: String, password: String) async throws(CoplanError)
    -> SessionState
  {
    try await message(SessionState.self) { context, error in
      coplan_sign_in(
        handle.pointer, username, password, coplanOnResult, context, coplanFreeBox, error)
    }
  }

  /// Who is signed in now (at once, from the device).
  public func session() throws(CoplanError) -> SessionState {
    var data: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    var error: UnsafeMutablePointer<coplan_error>? = nil
    let code = coplan_session(handle.pointer, &data, &size, &error)
    defer { coplan_free_buffer(data) }
    guard code == COPLAN_OK.rawValue else {
      let failure = CoplanError(returned: code, error)
      coplan_error_free(error)
      throw failure
    }
    guard let data, size > 0 else { return SessionState() }
    return try Self.decode(SessionState.self, Data(bytes: data, count: size))
  }

  /// Wipes everything the device holds and ends the session on the server. The wipe
  /// happens even offline; then UNAVAILABLE is thrown (the server could not be told).
  public func signOut() async throws(CoplanError) {
    try await status { context, error in
      coplan_sign_out(handle.pointer, coplanOnStatus, context, coplanFreeBox, error)
    }
  }

  /// signOut, then deletes the cache file; the client is then closed for good.
  public func forgetDevice() async throws(CoplanError) {
    try await status { context, error in
      coplan_forget_device(handle.pointer, coplanOnStatus, context, coplanFreeBox, error)
    }
  }

  // MARK: Documents

  /// Keeps `document` on the device and up to date, and streams what happens to it: the
  /// cached copy at once if there is one, then every change, presence and sign-off.
  ///
  /// The stream finishes when following ends: with an error (e.g. NOT_FOUND: no longer
  /// shared, the copy removed) when the document's `ended` status is one; normally when
  /// the client closes. Cancelling it (or dropping it) removes the listener; the
  /// document stays on the device until ``forget(_:)``.
  public func follow(_ document: String) -> AsyncThrowingStream<DocumentEvent, any Error> {
    let (stream, continuation) = AsyncThrowingStream<DocumentEvent, any Error>.makeStream()
    let box = ListenerBox(
      deliver: { data in
        do {
          let event = try DocumentEvent(jsonData: data)
          if let ended = event.ended {
            if ended.code != 0 {
              continuation.finish(throwing: CoplanError(status: ended))
            } else {
              continuation.finish()
            }
          } else {
            continuation.yield(event)
          }
        } catch {
          continuation.finish(throwing: CoplanError.wrap(error))
        }
      },
      ended: { continuation.finish() })
    listen(box, continuation) { context, id, error in
      coplan_follow(handle.pointer, document, coplanOnEvent, context, coplanFreeBox, id, error)
    }
    return stream
  }

  /// Another stream of client events (like ``events``, from now on). Cancelling it removes
  /// the listener; it finishes when the client closes.
  public func clientEvents() -> AsyncThrowingStream<ClientEvent, any Error> {
    let (stream, continuation) = AsyncThrowingStream<ClientEvent, any Error>.makeStream()
    let box = ListenerBox(
      deliver: { data in
        do {
          continuation.yield(try ClientEvent(jsonData: data))
        } catch {
          continuation.finish(throwing: CoplanError.wrap(error))
        }
      },
      ended: { continuation.finish() })
    listen(box, continuation) { context, id, error in
      coplan_add_client_listener(handle.pointer, coplanOnEvent, context, coplanFreeBox, id, error)
    }
    return stream
  }

  /// Registers `box` as a library listener with `add` (coplan_follow or
  /// coplan_add_client_listener). On refusal the stream finishes with the error and the box
  /// is released (the library never took it); otherwise however the stream ends
  /// (cancelled, or finished here on an event that did not decode) the listener is
  /// removed; when the library ended it itself, the removal is refused, harmlessly.
  private func listen<Event: Sendable>(
    _ box: ListenerBox,
    _ continuation: AsyncThrowingStream<Event, any Error>.Continuation,
    add: (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt64>, ErrorOut) -> Int32
  ) {
    let context = Unmanaged.passRetained(box).toOpaque()
    Handoff.publish()
    var id: UInt64 = 0
    var error: UnsafeMutablePointer<coplan_error>? = nil
    let code = add(context, &id, &error)
    if code != COPLAN_OK.rawValue {
      continuation.finish(throwing: CoplanError(returned: code, error))
      coplan_error_free(error)
      Unmanaged<ListenerBox>.fromOpaque(context).release()
      return
    }
    let listenerID = id
    continuation.onTermination = { [weak handle] _ in
      guard let handle else { return }
      _ = coplan_remove_listener(handle.pointer, listenerID, nil, nil, nil, nil)
    }
  }

  /// The document as the device has it (works offline). NOT_FOUND without a copy.
  public func document(_ name: String) async throws(CoplanError) -> CachedDocument {
    try await message(CachedDocument.self) { context, error in
      coplan_get_document(handle.pointer, name, coplanOnResult, context, coplanFreeBox, error)
    }
  }

  /// Stops keeping the document on the device (FAILED_PRECONDITION while edits wait).
  public func forget(_ document: String) async throws(CoplanError) {
    try await status { context, error in
      coplan_forget(handle.pointer, document, coplanOnStatus, context, coplanFreeBox, error)
    }
  }

  /// "optionGrids/{grid}/versions/{version}", from the device if kept there.
  public func gridVersion(_ name: String) async throws(CoplanError) -> CachedGridVersion {
    try await message(CachedGridVersion.self) { context, error in
      coplan_get_grid_version(
        handle.pointer, name, coplanOnResult, context, coplanFreeBox, error)
    }
  }

  /// The latest access-log page: from the server when it answers, else the device's copy.
  public func accessLog() async throws(CoplanError) -> CachedAccessLog {
    try await message(CachedAccessLog.self) { context, error in
      coplan_get_access_log(handle.pointer, coplanOnResult, context, coplanFreeBox, error)
    }
  }

  // MARK: Edits

  /// Applies the edit to the device's copy at once and queues it durably; returns once it
  /// survives an app kill. Throws what the server would (nothing is queued then).
  @discardableResult
  public func edit(_ request: EditRequest) async throws(CoplanError) -> EditQueued {
    let json = request.jsonData()
    return try await message(EditQueued.self) { context, error in
      json.withUnsafeBytes { raw in
        coplan_edit(
          handle.pointer, raw.bindMemory(to: UInt8.self).baseAddress, raw.count, coplanOnResult,
          context, coplanFreeBox, error)
      }
    }
  }

  /// Resolves a conflict (keep mine, or take theirs).
  public func resolveConflict(_ resolution: Resolution) async throws(CoplanError) {
    let json = resolution.jsonData()
    try await status { context, error in
      json.withUnsafeBytes { raw in
        coplan_resolve_conflict(
          handle.pointer, raw.bindMemory(to: UInt8.self).baseAddress, raw.count, coplanOnStatus,
          context, coplanFreeBox, error)
      }
    }
  }

  public func resolveConflict(batchID: Int64, choice: Resolution.Choice) async throws(CoplanError)
  {
    var resolution = Resolution()
    resolution.batchId = batchID
    resolution.choice = choice
    try await resolveConflict(resolution)
  }

  /// The queue of edits and its conflicts.
  public func pendingState() async throws(CoplanError) -> PendingState {
    try await message(PendingState.self) { context, error in
      coplan_get_pending_state(handle.pointer, coplanOnResult, context, coplanFreeBox, error)
    }
  }

  /// Returns once nothing waits to be sent and every followed document is live;
  /// DEADLINE_EXCEEDED after `timeout`.
  public func flush(timeout: Duration = .seconds(20)) async throws(CoplanError) {
    let ms = Self.milliseconds(timeout)
    try await status { context, error in
      coplan_flush(handle.pointer, ms, coplanOnStatus, context, coplanFreeBox, error)
    }
  }

  // MARK: Any other call

  /// Calls a unary method of the API: `try await client.call(Coplan_V1_PlanService.getPlan,
  /// request)`. Reads, and edits with an idempotency key, are retried while offline.
  public func call<Request, Response>(
    _ method: ProtoMethod<Request, Response>, _ request: Request
  ) async throws(CoplanError) -> Response {
    let answer = try await callJSON(method.path, request.jsonData())
    return try Self.decode(Response.self, answer)
  }

  /// The same with JSON text in and out, for a method by name.
  public func callJSON(_ method: String, _ requestJSON: Data) async throws(CoplanError) -> Data {
    let answer = try await awaitAnswer { context, error in
      requestJSON.withUnsafeBytes { raw in
        coplan_call_json(
          handle.pointer, method, raw.bindMemory(to: UInt8.self).baseAddress, raw.count,
          coplanOnResult, context, coplanFreeBox, error)
      }
    }
    guard case .message(let data) = answer else { return Data() }
    return data
  }

  /// For tests: how many sync streams the client has open (0 or 1).
  public func openStreamCount() async throws(CoplanError) -> Int {
    let answer = try await awaitAnswer { context, error in
      coplan_count_open_streams(handle.pointer, coplanOnCount, context, coplanFreeBox, error)
    }
    guard case .count(let count) = answer else { return 0 }
    return count
  }

  // MARK: Helpers

  static func decode<M: ProtoMessage>(_ type: M.Type, _ data: Data) throws(CoplanError) -> M {
    do {
      return try M(jsonData: data)
    } catch {
      throw CoplanError.wrap(error)
    }
  }

  func message<M: ProtoMessage>(
    _ type: M.Type, _ start: (UnsafeMutableRawPointer, ErrorOut) -> Int32
  ) async throws(CoplanError) -> M {
    let answer = try await awaitAnswer(start)
    guard case .message(let data) = answer else { return M() }
    return try Self.decode(M.self, data)
  }

  func status(_ start: (UnsafeMutableRawPointer, ErrorOut) -> Int32) async throws(CoplanError) {
    _ = try await awaitAnswer(start)
  }
}

/// C strings for coplan_options, kept until free() (after coplan_open copied them).
struct CStrings {
  private var pointers: [UnsafeMutablePointer<CChar>] = []

  mutating func add(_ string: String?) -> UnsafePointer<CChar>? {
    guard let string else { return nil }
    guard let copy = strdup(string) else { return nil }
    pointers.append(copy)
    return UnsafePointer(copy)
  }

  mutating func free() {
    for pointer in pointers { Foundation.free(pointer) }
    pointers.removeAll()
  }
}
