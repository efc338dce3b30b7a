import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The memory store's on-disk format, binary because a million users' logs should load in well under
/// a second and cost tens of megabytes, not hundreds as JSON would. Little-endian throughout:
///
///     "RQS1"                                   magic and version
///     repeated: 0x01, identity (u16 length + UTF-8), route (u16 length + UTF-8), index u32,
///               window ms i64, hit count u32, first hit ms i64, then count−1 × u32 ms after the first
///     or 0x02 and the same fields, then count × u32 tokens: a token quota's log (SPEC §11.2); files
///               written before token quotas hold only 0x01 records and still load
///     0x00, record count u64                   end marker: a file without it was cut short
///
/// Times are absolute unix milliseconds, so a restore can drop the hits that expired while it was down.
enum QuotaSnapshot {
    static let magic: [UInt8] = Array("RQS1".utf8)

    static func header() -> [UInt8] { magic }

    /// Appends one key's log; keys too long to be real identities are skipped rather than truncated.
    static func append(_ key: QuotaKey, _ log: QuotaLog, to out: inout [UInt8]) {
        let identity = Array(key.identity.utf8), route = Array(key.route.utf8)
        let stamps = log.stamps
        guard let first = stamps.first, identity.count <= Int(UInt16.max), route.count <= Int(UInt16.max),
              let index = UInt32(exactly: key.index) else { return }
        let weights = log.weights
        out.append(weights == nil ? 1 : 2)
        put(UInt16(identity.count), &out); out += identity
        put(UInt16(route.count), &out); out += route
        put(index, &out)
        put(UInt64(bitPattern: log.windowMs), &out)
        put(UInt32(stamps.count), &out)
        put(UInt64(bitPattern: first), &out)
        for stamp in stamps.dropFirst() { put(UInt32(truncatingIfNeeded: stamp - first), &out) }
        for tokens in weights ?? [] { put(UInt32(clamping: tokens), &out) }
    }

    /// One key's log as read back; `amounts` (each entry's tokens) only for a token quota.
    struct Record {
        var key: QuotaKey
        var windowMs: Int64
        var stamps: [Int64]
        var amounts: [Int]?
    }

    static func trailer(records: Int) -> [UInt8] {
        var out: [UInt8] = [0]
        put(UInt64(records), &out)
        return out
    }

    /// Every record of a snapshot, in file order.
    static func decode(_ bytes: [UInt8]) throws(QuotaSnapshotError) -> [Record] {
        var reader = Reader(bytes: bytes)
        guard try reader.take(magic.count).elementsEqual(magic) else { throw .corrupt("not a quota snapshot (bad magic)") }
        var records: [Record] = []
        while true {
            let kind = try reader.byte()
            guard kind == 1 || kind == 2 else { break }
            let identity = try reader.string(Int(reader.u16()))
            let route = try reader.string(Int(reader.u16()))
            let index = try Int(reader.u32())
            let windowMs = try Int64(bitPattern: reader.u64())
            let count = try Int(reader.u32())
            let first = try Int64(bitPattern: reader.u64())
            guard count >= 1, count <= bytes.count else { throw .corrupt("bad hit count \(count)") }
            var stamps = [first]
            stamps.reserveCapacity(count)
            for _ in 1..<count { stamps.append(try first + Int64(reader.u32())) }
            var amounts: [Int]?
            if kind == 2 { amounts = try (0..<count).map { _ throws(QuotaSnapshotError) in try Int(reader.u32()) } }
            records.append(Record(key: QuotaKey(identity: identity, route: route, index: index), windowMs: windowMs,
                                  stamps: stamps, amounts: amounts))
        }
        guard try Int(reader.u64()) == records.count else { throw .corrupt("record count mismatch") }
        return records
    }

    private static func put<T: FixedWidthInteger>(_ value: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    /// A bounds-checked cursor: a truncated or garbled file throws instead of trapping.
    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func take(_ n: Int) throws(QuotaSnapshotError) -> ArraySlice<UInt8> {
            guard n >= 0, bytes.count - offset >= n else { throw .corrupt("truncated at byte \(offset)") }
            defer { offset += n }
            return bytes[offset..<offset + n]
        }

        mutating func byte() throws(QuotaSnapshotError) -> UInt8 { try take(1).first! }
        mutating func u16() throws(QuotaSnapshotError) -> UInt16 { try int(UInt16.self) }
        mutating func u32() throws(QuotaSnapshotError) -> UInt32 { try int(UInt32.self) }
        mutating func u64() throws(QuotaSnapshotError) -> UInt64 { try int(UInt64.self) }

        mutating func string(_ n: Int) throws(QuotaSnapshotError) -> String {
            String(decoding: try take(n), as: UTF8.self)
        }

        private mutating func int<T: FixedWidthInteger>(_: T.Type) throws(QuotaSnapshotError) -> T {
            try take(MemoryLayout<T>.size).reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
    }
}

/// Why quota state could not be saved or loaded. Loading failures leave the store empty (serving with
/// fresh quotas), so the caller should log them loudly rather than refuse to start.
public enum QuotaSnapshotError: Error, CustomStringConvertible {
    case corrupt(String)
    case io(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .corrupt(let why): "quota snapshot is corrupt: \(why)"
        case .io(let operation, let path, let code): "quota snapshot: \(operation) \(path) failed (errno \(code))"
        }
    }
}
