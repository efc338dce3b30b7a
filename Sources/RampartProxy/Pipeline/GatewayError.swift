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
    /// The drain deadline cut a request. After it reached the upstream, which may have acted on it
    /// (a billed AI call, a write), it says so and gives no Retry-After.
    static func shuttingDown(reachedUpstream: Bool) -> GatewayError {
        reachedUpstream
            ? GatewayError(status: 503, code: "SHUTTING_DOWN", message: "Rampart is shutting down and cut this request at its drain deadline after it reached the upstream, which may have acted on it. Retry only if the request is safe to repeat.")
            : GatewayError(status: 503, code: "SHUTTING_DOWN", message: "Rampart is shutting down and cut this request before it reached the upstream. Retry it.", retryAfterSeconds: 1)
    }
    /// A provider's stream that ended cleanly but without its terminal event: the client's SDK
    /// must raise, not take the partial text as the whole answer.
    static func upstreamIncomplete() -> GatewayError {
        GatewayError(status: 502, code: "UPSTREAM_ERROR", message: "The provider's stream ended before its final event; the answer is incomplete.")
    }
    static func requestTimeout() -> GatewayError {
        GatewayError(status: 408, code: "REQUEST_TIMEOUT", message: "The request body did not arrive in time.")
    }
    static func payloadTooLarge(limit: Int) -> GatewayError {
        GatewayError(status: 413, code: "PAYLOAD_TOO_LARGE", message: "The request body is over \(limit) bytes.")
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
