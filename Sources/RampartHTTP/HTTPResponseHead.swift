/// A response status line plus fields, serialised straight into an output buffer.
/// Serialisation never emits CR, LF or NUL from names, values or the reason, so a
/// header copied from an upstream or a config cannot split the response.
public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    /// nil -> the standard phrase for `status`.
    public var reason: String?
    public var headers: HTTPHeaders
    public var versionMinor: Int = 1

    public init(status: Int, reason: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// Moves the fields out, leaving none: the caller edits them in place, with no copy.
    public mutating func takeHeaders() -> HTTPHeaders {
        var taken = HTTPHeaders()
        swap(&taken, &headers)
        return taken
    }

    /// Appends "HTTP/1.x <status> <reason>\r\n", each field as "name: value\r\n", then "\r\n".
    /// Fields whose name is not a token are skipped; forbidden bytes in values become spaces.
    public func serialize(into out: inout [UInt8]) {
        let bound = serializedSizeBound
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let n = out.withUnsafeMutableBufferPointer { serialize(to: $0.baseAddress! + start) }
        out.removeLast(bound - n)
    }

    /// Convenience returning a fresh buffer.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        serialize(into: &out)
        return out
    }

    /// At least the bytes `serialize(to:)` writes (exactly that unless a field is skipped), so the
    /// caller reserves once and the head is written with no growth checks.
    public var serializedSizeBound: Int {
        Self.statusLineBound(status: status, reason: reason) + 2 &+ headers.withFieldBytes { $0.lineBytes }
    }

    /// Writes the head at `base`, which has room for `serializedSizeBound` bytes; returns the
    /// count written. Every byte is checked as it is copied: one pass, no intermediate buffer.
    public func serialize(to base: UnsafeMutablePointer<UInt8>) -> Int {
        var p = Self.putStatusLine(status: status, reason: reason, versionMinor: versionMinor, at: base)
        p = Self.putFields(headers, at: p)
        p[0] = CR; p[1] = LF; p += 2
        return p - base
    }

    /// Writes "HTTP/1.x <status> <reason>\r\n" at `p` (room for `statusLineBound`).
    static func putStatusLine(status: Int, reason: String?, versionMinor: Int, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var p = p
        (versionMinor == 0 ? Self.http10 : Self.http11).withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: 9) }
        p += 9
        let code = min(max(status, 0), 999)
        p[0] = 0x30 + UInt8(code / 100)
        p[1] = 0x30 + UInt8(code / 10 % 10)
        p[2] = 0x30 + UInt8(code % 10)
        p[3] = SP
        p = Self.putSanitized(reason ?? Self.reasonPhrase(status), at: p + 4)
        p[0] = CR; p[1] = LF
        return p + 2
    }

    static func statusLineBound(status: Int, reason: String?) -> Int {
        9 + 4 + (reason ?? Self.reasonPhrase(status)).utf8.count + 2
    }

    /// Writes every field of `headers` (`putField`).
    static func putFields(_ headers: HTTPHeaders, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        headers.withFieldBytes { f in
            var p = p
            for i in 0..<f.count { p = putField(f, i, at: p) }
            return p
        }
    }

    /// Writes field `i` as "name: value\r\n": checked bytes as they are, others checked as they
    /// are copied (a name that is not a token is skipped, forbidden value bytes become spaces).
    @inline(__always)
    static func putField(_ f: HTTPHeaders.FieldBytes, _ i: Int, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var p = p
        if f.isChecked(i) {
            p = Self.put(f.name(i), at: p)
            p[0] = COLON; p[1] = SP
            p = Self.put(f.value(i), at: p + 2)
            p[0] = CR; p[1] = LF
            return p + 2
        }
        let name = f.name(i)
        guard let q = f.isNameChecked(i) ? Self.put(name, at: p) : Self.putToken(name, at: p) else { return p }
        q[0] = COLON; q[1] = SP
        p = Self.putSanitized(f.value(i), at: q + 2)
        p[0] = CR; p[1] = LF
        return p + 2
    }

    /// Copies bytes already known to be safe on the wire.
    @inline(__always)
    static func put(_ buf: UnsafeBufferPointer<UInt8>, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        if let src = buf.baseAddress { copyShortBytes(p, src, buf.count) }
        return p + buf.count
    }

    /// Copies a field name when it is a token; nil (nothing kept) otherwise.
    static func putToken(_ buf: UnsafeBufferPointer<UInt8>, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8>? {
        guard !buf.isEmpty else { return nil }
        for i in 0..<buf.count {
            let b = buf[i]
            guard ByteClass.isTChar(b) else { return nil }
            p[i] = b
        }
        return p + buf.count
    }

    /// Copies a field value or reason, with any byte that could end or split the head (CR, LF,
    /// other controls) turned into a space.
    static func putSanitized(_ buf: UnsafeBufferPointer<UInt8>, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        // Values are nearly always clean: find how far, 8 bytes at a time, and copy that much whole.
        var highBit = false
        let clean = UnsafeRawBufferPointer(buf).skipPlainFieldBytes(from: 0, sawHighBit: &highBit)
        if clean > 0 { copyShortBytes(p, buf.baseAddress!, clean) }
        for i in clean..<buf.count {
            let b = buf[i]
            p[i] = ByteClass.isFieldValueByte(b) ? b : SP
        }
        return p + buf.count
    }

    static func putSanitized(_ s: String, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        HTTPHeaders.withBytes(s) { putSanitized($0, at: p) }
    }

    static let http10: [UInt8] = Array("HTTP/1.0 ".utf8)
    static let http11: [UInt8] = Array("HTTP/1.1 ".utf8)
}
