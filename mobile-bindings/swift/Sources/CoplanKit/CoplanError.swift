// Every failure CoplanKit reports: a gRPC code, a message, and the google.rpc.Status with
// its details (BadRequest, ErrorInfo, coplan.v1.EditConflict...).
import CCoplan
import CoplanModels
import Foundation

public struct CoplanError: Error, Sendable, Hashable, CustomStringConvertible {
  /// gRPC's status codes (coplan_code).
  public enum Code: Int32, Sendable, Hashable, CaseIterable {
    case cancelled = 1
    case unknown = 2
    case invalidArgument = 3
    case deadlineExceeded = 4
    case notFound = 5
    case alreadyExists = 6
    case permissionDenied = 7
    case resourceExhausted = 8
    case failedPrecondition = 9
    case aborted = 10
    case outOfRange = 11
    case unimplemented = 12
    case internalError = 13
    case unavailable = 14
    case dataLoss = 15
    case unauthenticated = 16

    /// The code for a number; a number that is no code (nor OK) is UNKNOWN.
    public init(number: Int32) { self = Code(rawValue: number) ?? .unknown }
  }

  public let code: Code
  /// For developers, not for the person using the app.
  public let message: String
  /// The google.rpc.Status as the library gave it (code, message, details).
  public let status: Google_Rpc_Status

  public init(code: Code, message: String, details: [ProtoAny] = []) {
    self.code = code
    self.message = message
    var status = Google_Rpc_Status()
    status.code = code.rawValue
    status.message = message
    status.details = details
    self.status = status
  }

  /// From a google.rpc.Status (e.g. DocumentEvent.ended, RefusedBatch.status).
  public init(status: Google_Rpc_Status) {
    self.code = Code(number: status.code)
    self.message = status.message
    self.status = status
  }

  /// From the library's coplan_error (copied: it is valid during the callback only).
  init(_ error: coplan_error) {
    let code = Code(number: error.code)
    let message = error.message.map { String(cString: $0) } ?? ""
    var status = Google_Rpc_Status()
    if let json = error.rpc_status_json,
      let parsed = try? Google_Rpc_Status(jsonData: Data(String(cString: json).utf8))
    {
      status = parsed
    }
    status.code = code.rawValue
    if status.message.isEmpty { status.message = message }
    self.code = code
    self.message = message
    self.status = status
  }

  /// A code a function returned at once, with the error out-parameter when it was set.
  init(returned code: Int32, _ error: UnsafeMutablePointer<coplan_error>?) {
    if let error {
      self.init(error.pointee)
    } else {
      self.init(code: Code(number: code), message: "coplan error \(code)")
    }
  }

  /// A model's JSON that does not fit its type: INVALID_ARGUMENT.
  init(_ error: ProtoJSONError) {
    self.init(code: .invalidArgument, message: error.description)
  }

  /// An error anything in CoplanKit threw, as a CoplanError.
  static func wrap(_ error: any Error) -> CoplanError {
    if let error = error as? CoplanError { return error }
    if let error = error as? ProtoJSONError { return CoplanError(error) }
    return CoplanError(code: .unknown, message: String(describing: error))
  }

  public var details: [ProtoAny] { status.details }

  /// The first detail of type M (e.g. Google_Rpc_ErrorInfo.self), if any.
  public func detail<M: ProtoMessage>(_ type: M.Type) -> M? {
    for any in status.details {
      if let message = try? any.unpack(type) { return message }
    }
    return nil
  }

  public var errorInfo: Google_Rpc_ErrorInfo? { detail(Google_Rpc_ErrorInfo.self) }
  public var badRequest: Google_Rpc_BadRequest? { detail(Google_Rpc_BadRequest.self) }
  /// What the server's copy is where an edit conflicted (ABORTED).
  public var editConflict: Coplan_V1_EditConflict? { detail(Coplan_V1_EditConflict.self) }

  public var description: String { "CoplanError(\(code), \"\(message)\")" }
}
