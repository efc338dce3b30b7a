import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport

/// An idempotency record as Redis holds it: a compact binary value, so a stored body costs its own
/// size (JSON would need base64, +33%) and the Lua scripts can tell the state from the first byte.
///
/// Layout (integers big-endian):
/// - in-flight: `I`, u16 fingerprint length, fingerprint
/// - completed: `C`, u16 fingerprint length, fingerprint, u16 status, u32 header count,
///   then per header u32 name length, name, u32 value length, value; then u32 body length, body.
public enum IdempotencyRecord: Sendable, Equatable {
    case inFlight(fingerprint: String)
    case completed(fingerprint: String, response: StoredResponse)

    /// The first byte of an in-flight record (the abandon script checks it).
    static let inFlightTag = UInt8(ascii: "I")
    static let completedTag = UInt8(ascii: "C")

    public var fingerprint: String {
        switch self {
        case .inFlight(let f), .completed(let f, _): return f
        }
    }

    /// What `begin` answers when it finds this record for a request with `fingerprint`.
    /// A different request under the same key is refused whether or not the first one finished.
    func outcome(for fingerprint: String) -> IdempotencyBegin {
        guard self.fingerprint == fingerprint else { return .mismatch }
        switch self {
        case .inFlight: return .inProgress
        case .completed(_, let response): return .replay(response)
        }
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .inFlight(let f):
            out.append(Self.inFlightTag)
            Self.append16(Array(f.utf8), to: &out)
        case .completed(let f, let r):
            out.reserveCapacity(r.body.count + 64)
            out.append(Self.completedTag)
            Self.append16(Array(f.utf8), to: &out)
            Self.appendInt(UInt16(clamping: r.status), to: &out)
            Self.appendInt(UInt32(r.headers.count), to: &out)
            for h in r.headers {
                Self.append32(Array(h.name.utf8), to: &out)
                Self.append32(Array(h.value.utf8), to: &out)
            }
            Self.append32(r.body, to: &out)
        }
        return out
    }

    /// Nil for bytes that are not a whole record (a foreign or truncated value).
    public static func decode(_ bytes: [UInt8]) -> IdempotencyRecord? {
        var r = Reader(data: bytes)
        guard let tag = r.byte(), let f = r.string16() else { return nil }
        switch tag {
        case inFlightTag:
            return r.atEnd ? .inFlight(fingerprint: f) : nil
        case completedTag:
            guard let status = r.u16(), let count = r.u32(), count <= bytes.count else { return nil }
            var headers: [HTTPField] = []
            for _ in 0..<count {
                guard let name = r.string32(), let value = r.string32() else { return nil }
                headers.append(HTTPField(name: name, value: value))
            }
            guard let n = r.u32(), let body = r.bytes(n), r.atEnd else { return nil }
            return .completed(fingerprint: f, response: StoredResponse(status: Int(status), headers: headers, body: body))
        default:
            return nil
        }
    }

    private static func appendInt<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) }
    }

    private static func append16(_ b: [UInt8], to out: inout [UInt8]) {
        let b = b.prefix(Int(UInt16.max))
        appendInt(UInt16(b.count), to: &out); out.append(contentsOf: b)
    }

    private static func append32(_ b: [UInt8], to out: inout [UInt8]) {
        appendInt(UInt32(b.count), to: &out); out.append(contentsOf: b)
    }

    /// A bounds-checked cursor: every read answers nil past the end instead of trapping.
    private struct Reader {
        let data: [UInt8]
        var at = 0
        var atEnd: Bool { at == data.count }

        mutating func bytes(_ n: Int) -> [UInt8]? {
            guard n >= 0, n <= data.count - at else { return nil }
            defer { at += n }
            return Array(data[at..<at + n])
        }
        mutating func byte() -> UInt8? { bytes(1)?[0] }
        mutating func u16() -> Int? { bytes(2).map { Int($0[0]) << 8 | Int($0[1]) } }
        mutating func u32() -> Int? { bytes(4).map { $0.reduce(0) { $0 << 8 | Int($1) } } }
        mutating func string16() -> String? { u16().flatMap { bytes($0) }.map { String(decoding: $0, as: UTF8.self) } }
        mutating func string32() -> String? { u32().flatMap { bytes($0) }.map { String(decoding: $0, as: UTF8.self) } }
    }
}
