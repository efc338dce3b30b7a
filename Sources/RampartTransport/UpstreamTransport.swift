import RampartHTTP
import RampartLoop

/// One request as a transport sends it: everything already decided by the pipeline.
///
/// Its fields live in one box shared by every copy (the attempt that builds it, the transport
/// call that sends it): passing it on is one retain instead of one per String and header buffer.
/// A change copies the box first when another copy holds it, so it keeps value semantics.
public struct UpstreamRequest {
    private final class Fields {
        var endpoint: UpstreamEndpoint
        var method: String
        var target: String
        var headers: HTTPHeaders
        var body: BodyLength
        var connectTimeoutMs: Int
        var upgrade = false

        init(endpoint: UpstreamEndpoint, method: String, target: String, headers: HTTPHeaders, body: BodyLength, connectTimeoutMs: Int) {
            self.endpoint = endpoint; self.method = method; self.target = target; self.headers = headers
            self.body = body; self.connectTimeoutMs = connectTimeoutMs
        }

        func copy() -> Fields {
            let f = Fields(endpoint: endpoint, method: method, target: target, headers: headers, body: body, connectTimeoutMs: connectTimeoutMs)
            f.upgrade = upgrade
            return f
        }
    }

    private var fields: Fields

    private mutating func own() -> Fields {
        if !isKnownUniquelyReferenced(&fields) { fields = fields.copy() }
        return fields
    }

    public var endpoint: UpstreamEndpoint {
        get { fields.endpoint }
        set { own().endpoint = newValue }
    }
    public var method: String {
        get { fields.method }
        set { own().method = newValue }
    }
    /// Origin-form target sent upstream as is (base path already prefixed, never normalised).
    public var target: String {
        get { fields.target }
        set { own().target = newValue }
    }
    /// End-to-end headers only; the transport adds framing (Content-Length / chunked) itself.
    public var headers: HTTPHeaders {
        get { fields.headers }
        _modify { yield &own().headers }
    }
    public var body: BodyLength {
        get { fields.body }
        set { own().body = newValue }
    }
    public var connectTimeoutMs: Int {
        get { fields.connectTimeoutMs }
        set { own().connectTimeoutMs = newValue }
    }
    /// A WebSocket handshake: the native client carries it (plain or TLS) on a connection of its
    /// own, and a 101 hands that connection to the handler as an `UpstreamTunnel`.
    public var upgrade: Bool {
        get { fields.upgrade }
        set { own().upgrade = newValue }
    }

    public init(endpoint: UpstreamEndpoint, method: String, target: String, headers: HTTPHeaders, body: BodyLength, connectTimeoutMs: Int) {
        fields = Fields(endpoint: endpoint, method: method, target: target, headers: headers, body: body, connectTimeoutMs: connectTimeoutMs)
    }

    public enum BodyLength: Equatable { case none, known(Int), streamed }
}

/// Why an upstream exchange failed. The pipeline maps these to 502/504 or to a mid-stream error.
public enum UpstreamFailure: Error, Equatable, CustomStringConvertible {
    case connectFailed(String)     // refused, unreachable, DNS, TLS handshake
    case connectTimeout
    case reset(String)             // connection broke after it was established
    case invalidResponse(String)
    case timeout(String)           // first_byte / idle / total, fired by the pipeline
    case cancelled

    public var isTimeout: Bool {
        switch self { case .connectTimeout, .timeout: return true; default: return false }
    }
    public var metricKind: String {
        switch self {
        case .connectFailed: return "connect"
        case .connectTimeout: return "connect_timeout"
        case .reset: return "reset"
        case .invalidResponse: return "invalid_response"
        case .timeout(let phase): return phase
        case .cancelled: return "cancelled"
        }
    }
    public var description: String {
        switch self {
        case .connectFailed(let s): return "connect failed: \(s)"
        case .connectTimeout: return "connect timeout"
        case .reset(let s): return "connection reset: \(s)"
        case .invalidResponse(let s): return "invalid response: \(s)"
        case .timeout(let phase): return "\(phase) timeout"
        case .cancelled: return "cancelled"
        }
    }
}

/// Receives one exchange's response. All calls happen on the loop that started the exchange.
public protocol UpstreamResponseHandler: AnyObject {
    /// The final (non-1xx) response head.
    func upstreamHead(_ head: HTTPResponseHead)
    /// A run of decoded body bytes; `.pause` stops the transport until `resumeResponse()` (`Flow`).
    func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Flow
    /// The transport can take more request body (after `appendBody` answered `.pause`).
    func resumeRequestBody()
    /// The exchange ended: nil = complete response, else why it failed.
    func upstreamFinished(_ failure: UpstreamFailure?)
    /// The upstream switched protocols (only ever for a request with `upgrade`): the tunnel now
    /// holds the connection; `upstreamFinished` does not follow.
    func upstreamUpgraded(_ head: HTTPResponseHead, tunnel: UpstreamTunnel)
}

extension UpstreamResponseHandler {
    public func upstreamUpgraded(_ head: HTTPResponseHead, tunnel: UpstreamTunnel) {
        tunnel.close()
        upstreamFinished(.invalidResponse("unexpected protocol switch"))
    }
}

/// A running exchange, seen from the pipeline. Timeouts, retries and the breaker live above this,
/// so they are written once for every transport.
public protocol UpstreamCall: AnyObject {
    /// Queues request body bytes; `.pause` when the transport's buffer is full (pause the client).
    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Flow
    func endBody()
    /// The client drained (after `upstreamBody` answered `.pause`): deliver response body again.
    func resumeResponse()
    /// Stops the exchange; `upstreamFinished` is not called afterwards.
    func cancel()
}

/// Sends requests to upstreams from one event loop. Implementations: libcurl's multi socket
/// interface (https, HTTP/2, anything) today; a native HTTP/1.1 client for plain http later.
public protocol UpstreamTransport: AnyObject {
    func start(_ request: UpstreamRequest, handler: UpstreamResponseHandler) -> UpstreamCall
}
