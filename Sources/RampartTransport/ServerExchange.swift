import RampartHTTP
import RampartLoop

/// Serves the requests of connections: the proxy pipeline on the main listener, the admin API on
/// the admin listener. One protocol so both share the strict HTTP/1.1 connection code.
public protocol RequestService: AnyObject {
    /// A complete, valid request head arrived. The returned exchange receives the body and answers.
    func begin(_ head: HTTPRequestHead, on connection: HTTPConnection) -> ServerExchange
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
}

extension ServerExchange {
    /// Local and admin answers are sent whole at once; there is nothing to cut.
    public func drainDeadlineReached() {}
}
