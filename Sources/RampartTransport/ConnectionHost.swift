import RampartHTTP
import RampartLoop

/// What a client connection and its listener need from the server that owns them, so this layer
/// knows nothing of the gateway's config, metrics, log or error format (`ServerContext` is the
/// gateway's host).
public protocol ConnectionHost: AnyObject {
    var loop: EventLoop { get }
    /// A connection accepted on a listener of `role`: its settings and TLS context, or nil to shed
    /// it at once (over `max_connections`).
    func admit(role: ListenerRole) -> ConnectionAdmission?
    /// A connection refused at accept on a listener of `role`: the bytes to write before closing
    /// it (a 503 in the host's error format; none on a TLS listener, where the handshake has not
    /// run). The host counts it.
    func refusal(_ reason: AcceptRefusal, role: ListenerRole) -> [UInt8]
    func connectionOpened(_ connection: any ServedConnection)
    func connectionClosed(_ connection: any ServedConnection)
    func bytesIn(_ count: Int)
    func bytesOut(_ count: Int)
    /// The process drains: every response asks its client to reconnect elsewhere.
    var isShuttingDown: Bool { get }
    /// The connection answers by itself (a malformed request, a head or body too slow): the host
    /// makes the reply in its error format, counts and logs it.
    func localReply(for error: ConnectionError, request: HTTPRequestHead?, on connection: any ClientStream) -> (HTTPResponseHead, [UInt8])
    /// An HTTP/2 connection was ended with GOAWAY for abuse of `kind` (`HTTP2Abuse`).
    func http2Abuse(_ kind: String)
    /// An HTTP/2 connection or stream was cut by a timeout of `kind` (`header`, `body`) that no
    /// exchange answered (`timeouts` metric).
    func connectionTimedOut(_ kind: String)
}

/// Which listener a connection came from. The main one serves clients (TLS, `max_connections`,
/// the drain); the admin and metrics listeners stay open until exit so ops can watch a drain.
public enum ListenerRole: Sendable { case main, admin, metrics }

/// Why a listener refused a connection at accept.
public enum AcceptRefusal: Sendable {
    /// `max_connections` client sockets are open.
    case overCapacity
    /// The process or the system has no file descriptor left.
    case outOfDescriptors
}

/// How a host lets a connection in.
public struct ConnectionAdmission {
    public var settings: HTTP1ServerMachine.Settings
    public var tls: TLSContext?
    /// HTTP/2 when the listener offers it (ALPN `h2` on TLS, or prior-knowledge `h2c`); nil for none.
    public var http2: HTTP2Settings?
    public init(settings: HTTP1ServerMachine.Settings, tls: TLSContext?, http2: HTTP2Settings? = nil) {
        self.settings = settings; self.tls = tls; self.http2 = http2
    }
}

/// An answer the connection gives by itself, before or instead of an exchange.
public struct ConnectionError: Sendable {
    public enum Cause: Sendable, Equatable {
        /// The wire parser refused the request (its HTTP status and code).
        case malformed
        /// The head or the body did not arrive in time (`header` or `body`).
        case timeout(String)
    }
    public var status: Int
    public var code: String
    /// A sentence for the client.
    public var message: String
    public var cause: Cause

    /// The wire parser names a problem in a few words ("Multiple Host headers"); a client reads
    /// a sentence: "The request was refused: multiple Host headers."
    public static func malformed(_ e: HTTPParseError) -> ConnectionError {
        ConnectionError(status: e.status, code: e.code, message: sentence(e.message), cause: .malformed)
    }

    public static func timeout(_ what: String, message: String) -> ConnectionError {
        ConnectionError(status: 408, code: "REQUEST_TIMEOUT", message: message, cause: .timeout(what))
    }

    package static func sentence(_ phrase: String) -> String {
        guard let first = phrase.first else { return "The request was refused." }
        let lowered = phrase.dropFirst().first?.isUppercase == true ? phrase : first.lowercased() + phrase.dropFirst()
        return "The request was refused: " + lowered + (phrase.hasSuffix(".") ? "" : ".")
    }
}
