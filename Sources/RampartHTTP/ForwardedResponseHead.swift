/// What the connection's framing rules do to a response head's fields (`HTTP1ServerMachine`):
/// made on a field list (`apply`), or as a forwarded head is written.
public struct HeadEdits: Sendable, Equatable {
    public enum ConnectionField: Sendable, Equatable { case close, keepAlive }
    public var dropTransferEncoding = false
    public var dropContentLength = false
    /// `Transfer-Encoding: chunked` goes last but for the Connection field.
    public var addChunked = false
    public var connection: ConnectionField?

    public init() {}

    public func apply(to headers: inout HTTPHeaders) {
        if dropTransferEncoding { headers.remove("Transfer-Encoding") }
        if dropContentLength { headers.remove("Content-Length") }
        if addChunked { headers.add("Transfer-Encoding", "chunked") }
        switch connection {
        case .close: headers.set("Connection", "close")
        case .keepAlive: headers.set("Connection", "keep-alive")
        case nil: break
        }
    }
}

/// A proxied response head as the hop forwards it, not edited into one list: the upstream's
/// parsed fields with those left behind marked, then what the hop adds after them (Via, the
/// request id, the route's fields, the config's fixed fields). An HTTP/1 connection writes it in
/// one pass, as nginx's header filter writes its output from the upstream's list; anything else
/// reads `materialized()`, the same fields as one list, in the same order.
/// The caller guarantees the added fields hold no framing, Connection, Via or X-Request-Id field.
/// Not copyable: it only ever moves from its maker to the writer, and a copy of a value this
/// large (a retain per field list and String) is what the optimizer would otherwise add.
public struct ForwardedResponseHead: ~Copyable, Sendable {
    /// A final status (200 or more).
    public var status: Int
    public var reason: String?
    /// The upstream's fields, as its parser classed them (at most 64).
    public var upstream: HTTPHeaders
    /// Bit i set: upstream field i is not forwarded.
    public var dropped: UInt64
    public var requestID: RequestID
    /// The route's fields (CORS, RateLimit), then the config's fixed ones (security headers).
    public var stage: HTTPHeaders
    public var fixed: FixedFields
    /// The framing fields of what is forwarded (`FramingFields(upstream, skipping: dropped)`).
    public var framingFields: FramingFields

    /// Inlinable: made in another module, it would otherwise copy every field in and drop the originals.
    /// `framing`: the framing fields when the maker noted them in its own pass over the fields.
    @inlinable
    public init(status: Int, reason: String?, upstream: consuming HTTPHeaders, dropped: UInt64, requestID: RequestID,
                stage: HTTPHeaders, fixed: FixedFields, framing: FramingFields? = nil) {
        precondition(status >= 200, "a forwarded head is a final one")
        self.status = status; self.reason = reason; self.upstream = upstream; self.dropped = dropped
        self.requestID = requestID; self.stage = stage; self.fixed = fixed
        framingFields = framing ?? FramingFields(self.upstream, skipping: dropped)
    }

    /// `Via: 1.1 rampart`, the field the hop adds when the upstream sent none.
    public static let via = HTTPHeaders([HTTPField.checked(name: "Via", value: "1.1 rampart")])

    /// The same head as one field list.
    public func materialized() -> HTTPResponseHead {
        var h = upstream
        var i = 0
        h.removeFields { _, _ in
            defer { i += 1 }
            return dropped & (1 << UInt64(i)) != 0
        }
        h.append(contentsOf: Self.via)
        requestID.withUTF8 { h.add(literal: "X-Request-Id", bytes: $0) }
        h.append(contentsOf: stage)
        h.append(contentsOf: fixed.headers)
        return HTTPResponseHead(status: status, reason: reason, headers: h)
    }

    /// At least the bytes `serialize(to:edits:)` writes.
    public var serializedSizeBound: Int {
        HTTPResponseHead.statusLineBound(status: status, reason: reason)
            &+ upstream.withFieldBytes { $0.lineBytes } &+ 18 &+ 16 &+ requestID.utf8Count
            &+ stage.withFieldBytes { $0.lineBytes } &+ fixed.lines.count
            &+ Self.chunkedLine.utf8CodeUnitCount &+ Self.keepAliveLine.utf8CodeUnitCount &+ 2
    }

    /// Writes the HTTP/1.1 head at `base` (room for `serializedSizeBound`) with the connection's
    /// `edits`; returns the count written. The bytes are those `materialized()`, edited and
    /// serialised, gives.
    public func serialize(to base: UnsafeMutablePointer<UInt8>, edits: HeadEdits) -> Int {
        var p = HTTPResponseHead.putStatusLine(status: status, reason: reason, versionMinor: 1, at: base)
        p = upstream.withFieldBytes { f in
            var p = p
            for i in 0..<f.count where dropped & (1 << UInt64(i)) == 0 {
                if edits.dropContentLength || edits.dropTransferEncoding {
                    let k = f.knownName(i)
                    if edits.dropContentLength && k == .contentLength || edits.dropTransferEncoding && k == .transferEncoding { continue }
                }
                p = HTTPResponseHead.putField(f, i, at: p)
            }
            return p
        }
        p = putLiteral(Self.viaLine, at: p)
        p = putLiteral(Self.requestIDName, at: p)
        p = requestID.withUTF8 { HTTPResponseHead.putSanitized($0, at: p) }
        p[0] = CR; p[1] = LF; p += 2
        p = HTTPResponseHead.putFields(stage, at: p)
        p = fixed.lines.withUnsafeBufferPointer { lines in
            if let b = lines.baseAddress { p.update(from: b, count: lines.count) }
            return p + lines.count
        }
        if edits.addChunked { p = putLiteral(Self.chunkedLine, at: p) }
        switch edits.connection {
        case .close: p = putLiteral(Self.closeLine, at: p)
        case .keepAlive: p = putLiteral(Self.keepAliveLine, at: p)
        case nil: break
        }
        p[0] = CR; p[1] = LF; p += 2
        return p - base
    }

    static let viaLine: StaticString = "Via: 1.1 rampart\r\n"
    static let requestIDName: StaticString = "X-Request-Id: "
    static let chunkedLine: StaticString = "Transfer-Encoding: chunked\r\n"
    static let closeLine: StaticString = "Connection: close\r\n"
    static let keepAliveLine: StaticString = "Connection: keep-alive\r\n"
}

/// Fields a config adds to every response (the security headers), with their HTTP/1 lines
/// written once, when the config loads: a forwarded head copies them in one move.
public final class FixedFields: Sendable {
    public let headers: HTTPHeaders
    /// The lines `HTTPResponseHead.putFields` writes for `headers`.
    public let lines: [UInt8]

    public init(_ headers: HTTPHeaders) {
        self.headers = headers
        let bound = headers.withFieldBytes { $0.lineBytes }
        var lines = [UInt8](repeating: 0, count: bound + 1)
        let n = lines.withUnsafeMutableBufferPointer { HTTPResponseHead.putFields(headers, at: $0.baseAddress!) - $0.baseAddress! }
        lines.removeLast(lines.count - n)
        self.lines = lines
    }
}
