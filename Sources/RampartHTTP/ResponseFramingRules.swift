// Where an upstream response's body ends, decided once for both upstream clients (Rampart's own
// parser and libcurl's heads) and for what the client is sent. Upstream framing is held to the
// request parser's strictness (RFC 9112 §6.3): a relayed response that is ambiguous about its
// length desynchronises the client's keep-alive connection, or smuggles a second response.

/// An upstream response Rampart will not relay (a malformed head, framing it cannot trust, a
/// broken chunked body): the client gets SPEC §4's 502 `UPSTREAM_ERROR` instead, or, once the
/// head went out, a cut connection.
public struct UpstreamResponseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var status: Int { 502 }
    public var code: String { "UPSTREAM_ERROR" }

    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum ResponseFramingRules {
    /// The body length a head declares, before its status and the request's method are applied.
    public enum Declared: Sendable, Equatable { case none, length(Int), chunked }

    /// RFC 9110 §6.4.1: 1xx, 204 and 304 never have content, and neither does an answer to HEAD.
    @inline(__always)
    public static func isBodiless(status: Int, requestMethod: String?) -> Bool {
        status < 200 || status == 204 || status == 304 || isHEAD(requestMethod)
    }

    /// The method is HEAD; a length check first spares most methods the String comparison.
    @inline(__always)
    public static func isHEAD(_ method: String?) -> Bool {
        guard let method, method.utf8.count == 4 else { return false }
        return method == "HEAD"
    }

    /// 1xx, 204 and 304 state no length either: a length there is read as a body by some clients.
    @inline(__always)
    public static func forbidsLength(status: Int) -> Bool { status < 200 || status == 204 || status == 304 }

    /// The one decision over a head's framing fields (counted and pre-parsed by the caller):
    /// exactly one Content-Length of 1 to 18 digits (`length` nil when it is not that), or exactly
    /// one `Transfer-Encoding: chunked` in HTTP/1.1, never both. Anything else is refused.
    public static func declared(contentLengthCount: Int, length: Int?, transferEncodingCount: Int, chunkedOnly: Bool,
                                versionMinor: Int) -> Result<Declared, UpstreamResponseError> {
        if transferEncodingCount > 0 {
            if contentLengthCount > 0 { return .failure(UpstreamResponseError("both Content-Length and Transfer-Encoding")) }
            if versionMinor == 0 { return .failure(UpstreamResponseError("Transfer-Encoding in an HTTP/1.0 response")) }
            // A coding other than chunked (gzip, or gzip then chunked) would reach the client
            // undecoded under a dropped header: its content would be silently wrong.
            guard transferEncodingCount == 1, chunkedOnly else {
                return .failure(UpstreamResponseError("unsupported Transfer-Encoding"))
            }
            return .success(.chunked)
        }
        if contentLengthCount > 1 { return .failure(UpstreamResponseError("multiple Content-Length fields")) }
        if contentLengthCount == 1 {
            guard let length else { return .failure(UpstreamResponseError("invalid Content-Length")) }
            return .success(.length(length))
        }
        return .success(.none)
    }

    /// The same decision over a head another parser read (libcurl's): its fields as strings.
    public static func declared(_ headers: HTTPHeaders, versionMinor: Int) -> Result<Declared, UpstreamResponseError> {
        let f = FramingFields(headers)
        return declared(contentLengthCount: f.contentLengthCount, length: f.length, transferEncodingCount: f.transferEncodingCount,
                        chunkedOnly: f.chunkedOnly, versionMinor: versionMinor)
    }

    /// A final head's framing: none on a bodiless answer whatever it declares, else as declared,
    /// and a body with neither length nor chunks runs until the upstream closes.
    public static func framing(status: Int, requestMethod: String, declared: Declared) -> ResponseFraming {
        if isBodiless(status: status, requestMethod: requestMethod) { return .none }
        switch declared {
        case .none: return .untilClose
        case .length(let n): return .contentLength(n)
        case .chunked: return .chunked
        }
    }

    /// A 204 or 304 that announces chunks, or a 204 with a non-zero length, may still send that
    /// body after its head: the connection is not trusted with another request.
    public static func leavesBodyBehind(status: Int, requestMethod: String, declared: Declared) -> Bool {
        guard !isHEAD(requestMethod) else { return false }
        switch declared {
        case .none, .length(0): return false
        case .chunked: return status == 204 || status == 304
        case .length: return status == 204
        }
    }

    /// 1 to 18 ASCII digits and nothing else: no sign, list, space or hex (`HeadSemantics`' rule).
    public static func contentLength(_ value: String) -> Int? {
        var v = value
        return v.withUTF8 { HeadSemantics.parseContentLength(UnsafeRawBufferPointer($0), 0..<$0.count) }
    }
}

/// A head's framing fields in one pass over its list: how many of each, the Content-Length's
/// value when it is the only one and valid, and whether the only Transfer-Encoding is `chunked`.
public struct FramingFields: Sendable {
    public var contentLengthCount = 0
    public var length: Int?
    public var transferEncodingCount = 0
    public var chunkedOnly = false

    /// `skipping`: bit i set leaves field i out (a field a proxy hop does not forward).
    public init(_ headers: HTTPHeaders, skipping: UInt64 = 0) {
        headers.withFieldBytes { f in
            for i in 0..<f.count where i >= 64 || skipping & (1 << UInt64(i)) == 0 { note(f.knownName(i), f.value(i)) }
        }
    }

    public init() {}

    /// Notes one field that is kept (a maker that passes over the fields anyway calls this).
    /// Inlinable: most fields are neither, and cost a compare where they are passed over.
    @inlinable
    public mutating func note(_ known: KnownHeaderName, _ value: UnsafeBufferPointer<UInt8>) {
        switch known {
        case .contentLength:
            contentLengthCount += 1
            length = contentLengthCount == 1 ? HeadSemantics.parseContentLength(UnsafeRawBufferPointer(value), 0..<value.count) : nil
        case .transferEncoding:
            transferEncodingCount += 1
            chunkedOnly = transferEncodingCount == 1 && ASCIIBytes.equalsLowercase(value, "chunked")
        default: break
        }
    }

    public var isEmpty: Bool { contentLengthCount == 0 && transferEncodingCount == 0 }
}
