import RampartHTTP
import RampartLoop
import RampartTransport

/// An answer Rampart gives itself instead of the upstream's. Carries the SPEC §4 code; rendered
/// as the one JSON error format with the request id, never with internal detail.
public struct GatewayError: Error, Sendable {
    public var status: Int
    public var code: String
    public var message: String
    public var retryAfterSeconds: Int?
    public var details: [(field: String, message: String)] = []
    public var extraHeaders: [HTTPField] = []

    public init(status: Int, code: String, message: String, retryAfterSeconds: Int? = nil) {
        self.status = status; self.code = code; self.message = message; self.retryAfterSeconds = retryAfterSeconds
    }

    public static func badGateway(_ message: String = "The upstream service failed.") -> GatewayError {
        GatewayError(status: 502, code: "UPSTREAM_ERROR", message: message)
    }
    public static func gatewayTimeout(_ message: String = "The upstream service did not answer in time.") -> GatewayError {
        GatewayError(status: 504, code: "UPSTREAM_TIMEOUT", message: message)
    }
    public static func notFound() -> GatewayError {
        GatewayError(status: 404, code: "NOT_FOUND", message: "No route matches this request.")
    }

    public func body(requestID: String) -> [UInt8] {
        let details = JSONText.array(self.details.map { JSONText.object([("field", JSONText.quote($0.field)), ("message", JSONText.quote($0.message))]) })
        let error = JSONText.object([
            ("code", JSONText.quote(code)), ("message", JSONText.quote(message)),
            ("request_id", JSONText.quote(requestID)), ("details", details),
        ])
        return Array((JSONText.object([("error", error)]) + "\n").utf8)
    }
}
