/// The header fields a proxy hop sends upstream, kept as the client's own list (shared, never
/// copied) with the fields left behind marked, plus the fields the hop adds after them. The
/// HTTP/1 client writes both parts straight into its buffer (`writeLines`); anything else reads
/// `materialized()`, the same fields as one list, in the same order.
public struct ForwardedRequestFields: Sendable {
    /// The client's fields (at most 64 when any is `dropped`).
    public var base: HTTPHeaders
    /// Bit i set: base field i is not sent.
    public var dropped: UInt64 = 0
    /// Base field i, the client's Host, goes with this value instead (an https upstream's own name).
    public var replacedHost: Int?
    public var replacedHostValue = ""
    // Added after the base fields, in this order, when set.
    /// `Host` when the client sent none.
    public var host: String?
    public var forwardedFor: String?
    public var forwardedProto: String?
    /// `X-Forwarded-Host` repeats the value base field i had (the client's Host).
    public var forwardedHostOf: Int?
    public var via: String?
    public var requestID: RequestID?

    public init(_ headers: HTTPHeaders) { base = headers }

    /// True when the list is the base as it is: no field left behind, replaced or added.
    public var isPlain: Bool {
        dropped == 0 && replacedHost == nil && host == nil && forwardedFor == nil && forwardedProto == nil
            && forwardedHostOf == nil && via == nil && requestID == nil
    }

    static let forwardedHostName: StaticString = "X-Forwarded-Host"
    static let requestIDName: StaticString = "X-Request-Id"

    /// The same fields as one list.
    public func materialized() -> HTTPHeaders {
        if isPlain { return base }
        var h = base
        var i = 0, kept = 0
        var hostAt: Int?, forwardedHostAt: Int?
        h.removeFields { _, _ in
            defer { i += 1 }
            if i < 64 && dropped & (1 << UInt64(i)) != 0 { return true }
            if i == replacedHost { hostAt = kept }
            if i == forwardedHostOf { forwardedHostAt = kept }
            kept += 1
            return false
        }
        if let host { h.add(literal: "Host", host) }
        if let forwardedFor { h.add(literal: "X-Forwarded-For", forwardedFor) }
        if let forwardedProto { h.add(literal: "X-Forwarded-Proto", forwardedProto) }
        if let forwardedHostAt { h.add(name: Array(Self.forwardedHostName.bytes), valueOf: forwardedHostAt) }
        if let hostAt { h.replaceValue(at: hostAt, with: replacedHostValue) }
        if let via { h.add(literal: "Via", via) }
        if let requestID { requestID.withUTF8 { h.add(literal: "X-Request-Id", bytes: $0) } }
        return h
    }

    /// At least the bytes `writeLines` writes.
    public var lineBytes: Int {
        var n = base.withFieldBytes { $0.lineBytes }
        if replacedHost != nil { n &+= replacedHostValue.utf8.count }
        if let host { n &+= 6 &+ host.utf8.count &+ 2 }
        if let forwardedFor { n &+= 17 &+ forwardedFor.utf8.count &+ 2 }
        if let forwardedProto { n &+= 19 &+ forwardedProto.utf8.count &+ 2 }
        if let i = forwardedHostOf { n &+= 18 &+ base.withFieldBytes { $0.value(i).count } &+ 2 }
        if let via { n &+= 5 &+ via.utf8.count &+ 2 }
        if let requestID { n &+= 14 &+ requestID.utf8Count &+ 2 }
        return n
    }

    /// Writes every field as "name: value\r\n" at `p` (room for `lineBytes`), bytes as they are,
    /// as `materialized().withFieldBytes { $0.writeLines(to:) }` would.
    public func writeLines(to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        if isPlain { return base.withFieldBytes { $0.writeLines(to: p) } }
        return base.withFieldBytes { f in
            var p = p
            for i in 0..<f.count where i >= 64 || dropped & (1 << UInt64(i)) == 0 {
                if i == replacedHost {
                    p = Self.line(f.name(i), replacedHostValue, at: p)
                } else {
                    p = Self.line(f.name(i), f.value(i), at: p)
                }
            }
            if let host { p = Self.line("Host", host, at: p) }
            if let forwardedFor { p = Self.line("X-Forwarded-For", forwardedFor, at: p) }
            if let forwardedProto { p = Self.line("X-Forwarded-Proto", forwardedProto, at: p) }
            if let i = forwardedHostOf { p = Self.line(Self.forwardedHostName.bytes, f.value(i), at: p) }
            if let via { p = Self.line("Via", via, at: p) }
            if let requestID { p = requestID.withUTF8 { Self.line(Self.requestIDName.bytes, $0, at: p) } }
            return p
        }
    }

    @inline(__always)
    private static func line(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>,
                             at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var p = p
        if let b = name.baseAddress { copyShortBytes(p, b, name.count) }
        p += name.count
        p[0] = COLON; p[1] = SP; p += 2
        if let b = value.baseAddress { copyShortBytes(p, b, value.count) }
        p += value.count
        p[0] = CR; p[1] = LF
        return p + 2
    }

    @inline(__always)
    private static func line(_ name: UnsafeBufferPointer<UInt8>, _ value: String, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        HTTPHeaders.withBytes(value) { line(name, $0, at: p) }
    }

    @inline(__always)
    private static func line(_ name: StaticString, _ value: String, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        line(name.bytes, value, at: p)
    }
}
