import RampartHTTP
import RampartLoop

/// Serves the requests of connections: the proxy pipeline on the main listener, the admin API on
/// the admin listener. One protocol so both share the strict HTTP/1.1 connection code.
public protocol RequestService: AnyObject {
    /// A complete, valid request head arrived. The returned exchange receives the body and answers.
    func begin(_ head: HTTPRequestHead, on connection: any ClientStream) -> ServerExchange
}

/// One request/response on a connection, seen from the connection.
public protocol ServerExchange: AnyObject {
    /// A run of request-body bytes (already de-chunked). Valid only during the call.
    func requestBody(_ bytes: UnsafeRawBufferPointer)
    /// The request body is complete (called at once for requests without a body).
    func requestBodyEnded()
    /// The client's send buffer drained below the low watermark after `sendBody` answered `.pause`.
    func resumeResponse()
    /// The client went away or the connection failed before the response ended.
    func connectionClosed()
    /// Shutdown's drain deadline passed with this exchange still running: end it now.
    func drainDeadlineReached()
    /// The client stopped sending the request body (`body_timeout_ms`). True when the exchange
    /// answered itself (its 408 with its request id, its access-log line); false leaves the
    /// connection to answer and close, after `connectionClosed`.
    func requestBodyTimedOut() -> Bool
    /// Shutdown began while this exchange holds an open tunnel (a WebSocket): ask its peers to close.
    func drainStarted()
}

extension ServerExchange {
    /// Local and admin answers are sent whole at once; there is nothing to cut.
    public func drainDeadlineReached() {}
    public func requestBodyTimedOut() -> Bool { false }
    public func drainStarted() {}
}

/// One request's stream on a client connection, as an exchange sees it: the current request of an
/// HTTP/1.1 connection (`HTTPConnection`) or one stream of a multiplexed (HTTP/2) connection. The
/// layers above answer through this, never through a connection type, so a stream of either kind
/// is one exchange to them.
public protocol ClientStream: AnyObject {
    var requestHead: HTTPRequestHead? { get }
    var isTLS: Bool { get }
    var peerIP: [UInt8] { get }
    var peerText: String { get }
    func sendHead(_ head: HTTPResponseHead)
    /// Queues body bytes; `.pause` when the client is slow: stop producing until the exchange's
    /// `resumeResponse`.
    @discardableResult func sendBody(_ bytes: UnsafeRawBufferPointer) -> Flow
    /// Ends the response cleanly.
    func endResponse()
    /// Ends a response that cannot be completed: the client sees a truncated message, never a clean end.
    func abortResponse()
    /// Upload backpressure: stop and restart reading this request's body.
    func pauseRequestBody()
    func resumeRequestBody()
    /// Sends `100 Continue` when the client asked for it and the body has not started.
    func sendContinueIfExpected()
    /// A stream of an HTTP/2 connection (metrics tell the protocols apart).
    var isHTTP2: Bool { get }
    /// The stream writes a `ForwardedResponseHead` in one pass (HTTP/1); others are sent the
    /// same head as a field list.
    var acceptsForwardedHead: Bool { get }
    func sendForwardedHead(_ head: consuming ForwardedResponseHead)
}

extension ClientStream {
    public var isHTTP2: Bool { false }
    public var acceptsForwardedHead: Bool { false }
    public func sendForwardedHead(_ head: consuming ForwardedResponseHead) { sendHead(head.materialized()) }

    @discardableResult
    public func sendBody(_ bytes: [UInt8]) -> Flow { bytes.withUnsafeBytes { sendBody($0) } }

    /// A whole response at once (Rampart's own answers).
    public func sendWhole(_ head: HTTPResponseHead, _ body: [UInt8]) {
        sendHead(head)
        if !body.isEmpty { sendBody(body) }
        endResponse()
    }
}
