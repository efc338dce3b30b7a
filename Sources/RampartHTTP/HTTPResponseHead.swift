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

    /// Appends "HTTP/1.x <status> <reason>\r\n", each field as "name: value\r\n", then "\r\n".
    /// Fields whose name is not a token are skipped; forbidden bytes in values become spaces.
    public func serialize(into out: inout [UInt8]) {
        out.append(contentsOf: versionMinor == 0 ? Self.http10 : Self.http11)
        let code = min(max(status, 0), 999)
        out.append(0x30 + UInt8(code / 100))
        out.append(0x30 + UInt8(code / 10 % 10))
        out.append(0x30 + UInt8(code % 10))
        out.append(SP)
        Self.appendSanitized(reason ?? Self.reasonPhrase(status), to: &out)
        out.append(CR)
        out.append(LF)
        for field in headers.fields {
            guard Self.appendToken(field.name, to: &out) else { continue }
            out.append(COLON)
            out.append(SP)
            Self.appendSanitized(field.value, to: &out)
            out.append(CR)
            out.append(LF)
        }
        out.append(CR)
        out.append(LF)
    }

    /// Convenience returning a fresh buffer.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + headers.fields.count * 48)
        serialize(into: &out)
        return out
    }

    static let http10: [UInt8] = Array("HTTP/1.0 ".utf8)
    static let http11: [UInt8] = Array("HTTP/1.1 ".utf8)

    /// Appends a field name when it is a token, in one pass over its bytes; false (and nothing
    /// appended) otherwise.
    static func appendToken(_ s: String, to out: inout [UInt8]) -> Bool {
        var s = s
        return s.withUTF8 { buf in
            guard !buf.isEmpty else { return false }
            for b in buf where !ByteClass.isTChar(b) { return false }
            out.append(contentsOf: buf)
            return true
        }
    }

    /// Appends a field value or reason, with any byte that could end or split the head (CR, LF,
    /// other controls) turned into a space. Values are clean almost always: one scan, one copy.
    static func appendSanitized(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { buf in
            var clean = true
            for b in buf where !ByteClass.isFieldValueByte(b) { clean = false; break }
            if clean {
                out.append(contentsOf: buf)
            } else {
                for b in buf { out.append(ByteClass.isFieldValueByte(b) ? b : SP) }
            }
        }
    }
}
