/// A request the parser refuses, carrying the status and SPEC §4 error code the
/// server answers with; `message` is safe to show a client (no input echoed).
public struct HTTPParseError: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func badRequest(_ message: String) -> HTTPParseError {
        HTTPParseError(status: 400, code: "BAD_REQUEST", message: message)
    }

    public static func uriTooLong(_ message: String = "Request line too long") -> HTTPParseError {
        HTTPParseError(status: 414, code: "URI_TOO_LONG", message: message)
    }

    public static func headersTooLarge(_ message: String = "Request header fields too large") -> HTTPParseError {
        HTTPParseError(status: 431, code: "HEADERS_TOO_LARGE", message: message)
    }

    public static func expectationFailed(_ message: String = "Unsupported Expect value") -> HTTPParseError {
        HTTPParseError(status: 417, code: "EXPECTATION_FAILED", message: message)
    }

    public static func notImplemented(_ message: String) -> HTTPParseError {
        HTTPParseError(status: 501, code: "NOT_IMPLEMENTED", message: message)
    }

    public static func versionNotSupported(_ message: String = "HTTP version not supported") -> HTTPParseError {
        HTTPParseError(status: 505, code: "HTTP_VERSION_NOT_SUPPORTED", message: message)
    }
}
