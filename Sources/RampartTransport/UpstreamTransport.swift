import RampartHTTP
import RampartLoop

/// One request as a transport sends it: everything already decided by the pipeline.
///
/// Its fields live in one box shared by every copy (the attempt that builds it, the transport
/// call that sends it): passing it on is one retain instead of one per String and header buffer.
/// A change makes a new box, so it keeps value semantics.
public struct UpstreamRequest {
    /// Every field; the box holds it immutably (reads are plain loads, with no dynamic
    /// exclusivity check), and a change makes a new box.
    private struct Values {
        var endpoint: UpstreamEndpoint
        var method: String
        var target: String
        var fields: ForwardedRequestFields
        var body: BodyLength
        var connectTimeoutMs: Int
        var upgrade = false
    }

    private final class Box {
        let v: Values
        init(_ v: Values) { self.v = v }
    }

    private var box: Box

    private mutating func change(_ body: (inout Values) -> Void) {
        var v = box.v
        body(&v)
        box = Box(v)
    }

    public var endpoint: UpstreamEndpoint {
        get { box.v.endpoint }
        set { change { $0.endpoint = newValue } }
    }
    public var method: String {
        get { box.v.method }
        set { change { $0.method = newValue } }
    }
    /// Origin-form target sent upstream as is (base path already prefixed, never normalised).
    public var target: String {
        get { box.v.target }
        set { change { $0.target = newValue } }
    }
    /// End-to-end headers only; the transport adds framing (Content-Length / chunked) itself.
    public var headers: HTTPHeaders {
        get { box.v.fields.materialized() }
        set { change { $0.fields = ForwardedRequestFields(newValue) } }
    }
    /// The same fields as the client's list plus the hop's additions, which the HTTP/1 client
    /// writes without making the list (`ForwardedRequestFields`).
    public var fields: ForwardedRequestFields {
        get { box.v.fields }
        set { change { $0.fields = newValue } }
    }

    /// Lends the fields where they lie: reading `fields` copies the value out (a retain per
    /// String it holds).
    public func withFields<R>(_ body: (borrowing ForwardedRequestFields) -> R) -> R { body(box.v.fields) }
    public var body: BodyLength {
        get { box.v.body }
        set { change { $0.body = newValue } }
    }
    public var connectTimeoutMs: Int {
        get { box.v.connectTimeoutMs }
        set { change { $0.connectTimeoutMs = newValue } }
    }
    /// A WebSocket handshake: the native client carries it (plain or TLS) on a connection of its
    /// own, and a 101 hands that connection to the handler as an `UpstreamTunnel`.
    public var upgrade: Bool {
        get { box.v.upgrade }
        set { change { $0.upgrade = newValue } }
    }

    public init(endpoint: UpstreamEndpoint, method: String, target: String, headers: HTTPHeaders, body: BodyLength, connectTimeoutMs: Int,
                upgrade: Bool = false) {
        self.init(endpoint: endpoint, method: method, target: target, fields: ForwardedRequestFields(headers), body: body,
                  connectTimeoutMs: connectTimeoutMs, upgrade: upgrade)
    }

    public init(endpoint: UpstreamEndpoint, method: String, target: String, fields: consuming ForwardedRequestFields, body: BodyLength,
                connectTimeoutMs: Int, upgrade: Bool = false) {
        box = Box(Values(endpoint: endpoint, method: method, target: target, fields: fields, body: body,
                         connectTimeoutMs: connectTimeoutMs, upgrade: upgrade))
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
    /// The final (non-1xx) response head, handed over: the exchange edits its fields in place
    /// for the client (a borrowed head would be copied for the first edit).
    func upstreamHead(_ head: consuming HTTPResponseHead)
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
