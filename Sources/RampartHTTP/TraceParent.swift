/// A W3C Trace Context `traceparent` (version 00): `00-<32 hex trace id>-<16 hex parent id>-<2 hex
/// flags>`. Read strictly (lowercase hex, no all-zero ids, the exact length for version 00; a
/// later version may append fields, which are ignored as the spec asks); anything else is no
/// parent at all, and the request starts a new trace.
public struct TraceParent: Sendable, Equatable {
    public var traceID: [UInt8]
    public var spanID: [UInt8]
    public var sampled: Bool

    public init(traceID: [UInt8], spanID: [UInt8], sampled: Bool) {
        self.traceID = traceID; self.spanID = spanID; self.sampled = sampled
    }

    public static func parse(_ text: String) -> TraceParent? {
        let b = Array(text.utf8)
        guard b.count >= 55, b[2] == 0x2D, b[35] == 0x2D, b[52] == 0x2D else { return nil }
        guard let version = hexBytes(b[0..<2]), version[0] != 0xFF else { return nil }
        if version[0] == 0 { guard b.count == 55 else { return nil } } else if b.count > 55 && b[55] != 0x2D { return nil }
        guard let trace = hexBytes(b[3..<35]), let span = hexBytes(b[36..<52]), let flags = hexBytes(b[53..<55]) else { return nil }
        guard trace.contains(where: { $0 != 0 }), span.contains(where: { $0 != 0 }) else { return nil }
        return TraceParent(traceID: trace, spanID: span, sampled: flags[0] & 1 != 0)
    }

    /// The header value, version 00.
    public var header: String { "00-" + Self.hex(traceID) + "-" + Self.hex(spanID) + (sampled ? "-01" : "-00") }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex only (the spec forbids uppercase).
    static func hexBytes(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        guard s.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 2)
        var i = s.startIndex
        while i < s.endIndex {
            guard let hi = nibble(s[i]), let lo = nibble(s[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
