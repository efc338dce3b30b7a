/// How the request body is delimited; `none` means no body (RFC 9112 §6.3: a
/// request without Content-Length or Transfer-Encoding has length zero).
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
}

/// A validated request head. Only origin-form targets (or "*" for OPTIONS) ever
/// appear here: absolute-form, authority-form and CONNECT are refused because a
/// reverse proxy must route on its own config, never on a client-chosen authority.
///
/// The fields live in one box shared by every copy (the parser's result, the connection's state
/// machine, the request's context): handing a head on is one retain, not one per String. A
/// change makes a new box, so the head keeps value semantics.
public struct HTTPRequestHead: Sendable, Equatable {
    /// Every field of the head. The box holds it immutably: reading a field is a plain load (a
    /// class `var` would cost a dynamic exclusivity check per read), and a change makes a new box.
    /// Inlinable reads: a field read from another module is a load where it is used (no call, and
    /// no retain when the use is local), not a getter call returning a retained copy.
    @usableFromInline struct Values: Sendable {
        @usableFromInline var method: String
        @usableFromInline var target: String
        @usableFromInline var path: String
        @usableFromInline var query: String?
        @usableFromInline var versionMinor: Int
        @usableFromInline var headers: HTTPHeaders
        @usableFromInline var framing: BodyFraming
        @usableFromInline var keepAlive: Bool
        @usableFromInline var expectsContinue: Bool
        @usableFromInline var connectionTokens: [String]
    }

    @usableFromInline final class Box: Sendable {
        @usableFromInline let v: Values
        @usableFromInline init(_ v: Values) { self.v = v }
        static let placeholder = Box(Values(method: "", target: "", path: "", query: nil, versionMinor: 1, headers: HTTPHeaders(),
                                            framing: .none, keepAlive: true, expectsContinue: false, connectionTokens: []))
    }

    @usableFromInline var box: Box

    private mutating func change(_ body: (inout Values) -> Void) {
        var v = box.v
        // Let go of the old box first, so a field it held alone (the headers) stays unique.
        box = Box.placeholder
        body(&v)
        box = Box(v)
    }

    public var method: String {
        @inlinable get { box.v.method }
        set { change { $0.method = newValue } }
    }
    /// Origin-form "/path?query" exactly as sent, or "*" for OPTIONS.
    public var target: String {
        @inlinable get { box.v.target }
        set { change { $0.target = newValue } }
    }
    /// Target before the first '?'.
    public var path: String {
        @inlinable get { box.v.path }
        set { change { $0.path = newValue } }
    }
    /// Target after the first '?', nil when there is no '?'.
    public var query: String? {
        @inlinable get { box.v.query }
        set { change { $0.query = newValue } }
    }
    /// HTTP/1.0 -> 0, HTTP/1.1 -> 1.
    public var versionMinor: Int {
        @inlinable get { box.v.versionMinor }
        set { change { $0.versionMinor = newValue } }
    }
    public var headers: HTTPHeaders {
        @inlinable get { box.v.headers }
        _modify {
            var v = box.v
            box = Box.placeholder
            defer { box = Box(v) }
            yield &v.headers
        }
    }
    public var framing: BodyFraming {
        @inlinable get { box.v.framing }
        set { change { $0.framing = newValue } }
    }
    /// Per-version default adjusted by Connection tokens (close / keep-alive).
    public var keepAlive: Bool {
        @inlinable get { box.v.keepAlive }
        set { change { $0.keepAlive = newValue } }
    }
    /// Expect: 100-continue on an HTTP/1.1 request (ignored for 1.0, RFC 9110 §10.1.1).
    public var expectsContinue: Bool {
        @inlinable get { box.v.expectsContinue }
        set { change { $0.expectsContinue = newValue } }
    }
    /// Lowercased tokens of all Connection headers: hop-by-hop field names to strip when forwarding.
    public var connectionTokens: [String] {
        @inlinable get { box.v.connectionTokens }
        set { change { $0.connectionTokens = newValue } }
    }

    public init(
        method: String, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(),
        framing: BodyFraming = .none, keepAlive: Bool = true, expectsContinue: Bool = false,
        connectionTokens: [String] = []
    ) {
        let path: String, query: String?
        if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<q])
            query = String(target[target.utf8.index(after: q)...])
        } else {
            path = target
            query = nil
        }
        box = Box(Values(method: method, target: target, path: path, query: query, versionMinor: versionMinor, headers: headers,
                         framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue, connectionTokens: connectionTokens))
    }

    /// Parser's init: path and query were already sliced from the bytes.
    init(
        method: String, target: String, path: String, query: String?, versionMinor: Int, headers: HTTPHeaders,
        decision: HeadDecision, connectionTokens: [String]
    ) {
        box = Box(Values(method: method, target: target, path: path, query: query, versionMinor: versionMinor, headers: headers,
                         framing: decision.framing, keepAlive: decision.keepAlive, expectsContinue: decision.expectsContinue,
                         connectionTokens: connectionTokens))
    }

    public static func == (a: HTTPRequestHead, b: HTTPRequestHead) -> Bool {
        if a.box === b.box { return true }
        return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query
            && a.versionMinor == b.versionMinor && a.headers == b.headers && a.framing == b.framing && a.keepAlive == b.keepAlive
            && a.expectsContinue == b.expectsContinue && a.connectionTokens == b.connectionTokens
    }
}
