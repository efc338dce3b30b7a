/// RESP2, the Redis wire protocol: values, a command encoder and an incremental decoder.
/// Pure code without I/O, so it is table-tested byte by byte.

/// One RESP2 value. Null bulk strings and null arrays are kept apart (`.bulkString(nil)`,
/// `.array(nil)`) because Redis uses both.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8]?)
    case array([RESPValue]?)

    public static let null = RESPValue.bulkString(nil)
    public static func bulk(_ s: String) -> RESPValue { .bulkString(Array(s.utf8)) }

    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): return true
        default: return false
        }
    }

    /// Text of a simple or bulk string (bulk bytes decoded as UTF-8, invalid bytes repaired).
    public var string: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b?): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// An integer reply, or a string reply holding a decimal integer.
    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .simpleString, .bulkString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// A numeric reply (integer, or a string holding a number such as a ZSET score).
    public var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .simpleString, .bulkString: return string.flatMap { Double($0) }
        default: return nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let a?) = self { return a }
        return nil
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simpleString(let s): return "+\(s)"
        case .error(let s): return "-\(s)"
        case .integer(let i): return ":\(i)"
        case .bulkString(nil), .array(nil): return "(nil)"
        case .bulkString(let b?): return "\"\(String(decoding: b, as: UTF8.self))\""
        case .array(let a?): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

// MARK: - Encoder

/// Encodes commands the way every Redis client sends them: an array of bulk strings.
public enum RESPEncoder {
    public static func command(_ args: [String]) -> [UInt8] {
        var out = [UInt8]()
        appendCommand(args, to: &out)
        return out
    }

    public static func appendCommand(_ args: [String], to out: inout [UInt8]) {
        appendHeader(UInt8(ascii: "*"), args.count, to: &out)
        for a in args {
            appendHeader(UInt8(ascii: "$"), a.utf8.count, to: &out)
            out.append(contentsOf: a.utf8)
            out.append(13); out.append(10)
        }
    }

    public static func appendCommand(_ args: [[UInt8]], to out: inout [UInt8]) {
        appendHeader(UInt8(ascii: "*"), args.count, to: &out)
        for a in args {
            appendHeader(UInt8(ascii: "$"), a.count, to: &out)
            out.append(contentsOf: a)
            out.append(13); out.append(10)
        }
    }

    /// Encodes any value (a server's view; used by tests and fakes).
    public static func append(_ value: RESPValue, to out: inout [UInt8]) {
        switch value {
        case .simpleString(let s): out.append(UInt8(ascii: "+")); out.append(contentsOf: s.utf8); out.append(13); out.append(10)
        case .error(let s): out.append(UInt8(ascii: "-")); out.append(contentsOf: s.utf8); out.append(13); out.append(10)
        case .integer(let i): out.append(UInt8(ascii: ":")); out.append(contentsOf: String(i).utf8); out.append(13); out.append(10)
        case .bulkString(nil): out.append(contentsOf: Array("$-1\r\n".utf8))
        case .array(nil): out.append(contentsOf: Array("*-1\r\n".utf8))
        case .bulkString(let b?):
            appendHeader(UInt8(ascii: "$"), b.count, to: &out)
            out.append(contentsOf: b); out.append(13); out.append(10)
        case .array(let a?):
            appendHeader(UInt8(ascii: "*"), a.count, to: &out)
            for v in a { append(v, to: &out) }
        }
    }

    public static func encode(_ value: RESPValue) -> [UInt8] {
        var out = [UInt8]()
        append(value, to: &out)
        return out
    }

    private static func appendHeader(_ type: UInt8, _ n: Int, to out: inout [UInt8]) {
        out.append(type)
        out.append(contentsOf: String(n).utf8)
        out.append(13); out.append(10)
    }
}

// MARK: - Decoder

public struct RESPDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "RESP protocol error: \(message)" }
}

/// Incremental RESP2 decoder: `feed` any split of bytes, then call `next()` until it returns nil.
/// Keeps a stack of partially read arrays, so bytes are scanned once except for the one header
/// line or bulk payload still incomplete. Any protocol error is final: the stream is out of sync.
public struct RESPDecoder: Sendable {
    public struct Limits: Sendable {
        public var maxBulkBytes: Int
        public var maxLineBytes: Int
        public var maxArrayCount: Int
        public var maxDepth: Int
        public init(maxBulkBytes: Int = 64 << 20, maxLineBytes: Int = 64 << 10, maxArrayCount: Int = 1 << 20, maxDepth: Int = 16) {
            self.maxBulkBytes = maxBulkBytes; self.maxLineBytes = maxLineBytes
            self.maxArrayCount = maxArrayCount; self.maxDepth = maxDepth
        }
    }

    private struct Frame: Sendable {
        var remaining: Int
        var items: [RESPValue]
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    private var position = 0
    private var stack: [Frame] = []
    private var failure: RESPDecodeError?

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Bytes fed but not yet turned into a complete value.
    public var bufferedCount: Int { buffer.count - position }
    /// True when no partial value is pending (nothing buffered, no array half read).
    public var isIdle: Bool { bufferedCount == 0 && stack.isEmpty }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Drops everything (after the connection it belonged to is gone).
    public mutating func reset() {
        buffer.removeAll(keepingCapacity: false); position = 0; stack.removeAll(); failure = nil
    }

    /// The next complete top-level value, nil when more bytes are needed.
    public mutating func next() throws(RESPDecodeError) -> RESPValue? {
        if let failure { throw failure }
        do {
            while true {
                guard let value = try token() else { return nil }
                // `token` returns either a scalar or a completed empty/null array; fold into parents.
                var v = value
                while true {
                    guard var top = stack.popLast() else { return v }
                    top.items.append(v)
                    top.remaining -= 1
                    if top.remaining > 0 { stack.append(top); break }
                    v = .array(top.items)
                }
            }
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func compact() {
        if position == 0 { return }
        if position == buffer.count { buffer.removeAll(keepingCapacity: true); position = 0; return }
        if position >= 4096 && position * 2 >= buffer.count {
            buffer.removeSubrange(0..<position); position = 0
        }
    }

    /// Reads one token at `position`: a complete scalar, or an array header. Array headers with
    /// elements push a frame and continue; empty and null arrays come back as values.
    /// Returns nil (consuming nothing of the partial token) when more bytes are needed.
    private mutating func token() throws(RESPDecodeError) -> RESPValue? {
        while true {
            guard let (lineEnd, next) = try findLine(from: position) else { return nil }
            let type = buffer[position]
            let lineStart = position + 1
            switch type {
            case UInt8(ascii: "+"):
                let s = text(lineStart, lineEnd)
                position = next
                return .simpleString(s)
            case UInt8(ascii: "-"):
                let s = text(lineStart, lineEnd)
                position = next
                return .error(s)
            case UInt8(ascii: ":"):
                guard let n = integer(lineStart, lineEnd) else { throw RESPDecodeError("invalid integer") }
                position = next
                return .integer(n)
            case UInt8(ascii: "$"):
                guard let n = integer(lineStart, lineEnd), n >= -1 else { throw RESPDecodeError("invalid bulk length") }
                if n == -1 { position = next; return .bulkString(nil) }
                guard n <= limits.maxBulkBytes else { throw RESPDecodeError("bulk string of \(n) bytes exceeds the limit") }
                let len = Int(n)
                guard buffer.count - next >= len + 2 else { return nil }
                guard buffer[next + len] == 13, buffer[next + len + 1] == 10 else { throw RESPDecodeError("bulk string not terminated by CRLF") }
                let bytes = Array(buffer[next..<(next + len)])
                position = next + len + 2
                return .bulkString(bytes)
            case UInt8(ascii: "*"):
                guard let n = integer(lineStart, lineEnd), n >= -1 else { throw RESPDecodeError("invalid array length") }
                position = next
                if n == -1 { return .array(nil) }
                if n == 0 { return .array([]) }
                guard n <= limits.maxArrayCount else { throw RESPDecodeError("array of \(n) elements exceeds the limit") }
                guard stack.count < limits.maxDepth else { throw RESPDecodeError("arrays nested deeper than \(limits.maxDepth)") }
                var items = [RESPValue]()
                items.reserveCapacity(min(Int(n), 1024))
                stack.append(Frame(remaining: Int(n), items: items))
                continue
            default:
                throw RESPDecodeError("unexpected type byte \(type)")
            }
        }
    }

    /// Finds the CRLF ending the line that starts at `start`: (index of CR, index after LF).
    private func findLine(from start: Int) throws(RESPDecodeError) -> (Int, Int)? {
        var i = start
        let end = buffer.count
        let cap = start + limits.maxLineBytes
        while i < end {
            if buffer[i] == 13 {
                guard i + 1 < end else { return nil }
                guard buffer[i + 1] == 10 else { throw RESPDecodeError("CR not followed by LF") }
                return (i, i + 2)
            }
            if buffer[i] == 10 { throw RESPDecodeError("bare LF in a line") }
            i += 1
            if i > cap { throw RESPDecodeError("line longer than \(limits.maxLineBytes) bytes") }
        }
        return nil
    }

    private func text(_ from: Int, _ to: Int) -> String {
        String(decoding: buffer[from..<to], as: UTF8.self)
    }

    private func integer(_ from: Int, _ to: Int) -> Int64? {
        guard from < to, to - from <= 20 else { return nil }
        var i = from
        var negative = false
        if buffer[i] == UInt8(ascii: "-") { negative = true; i += 1; guard i < to else { return nil } }
        var value: Int64 = 0
        while i < to {
            let d = buffer[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            value = a
            i += 1
        }
        return value
    }
}

/// Why a Redis command did not produce a reply.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not connected (Redis down, reconnecting with backoff, or too many commands pending).
    case unavailable(String)
    /// The connection dropped (or was reset) while the command was in flight.
    case connectionLost(String)
    /// No reply within the command timeout; the connection is reset afterwards.
    case timeout
    /// Redis answered with an error reply (`-ERR ...`, `-NOSCRIPT ...`).
    case server(String)
    /// The reply did not have the expected shape.
    case unexpectedReply(String)
    /// The client was closed.
    case closed

    public var description: String {
        switch self {
        case .unavailable(let m): return "redis unavailable: \(m)"
        case .connectionLost(let m): return "redis connection lost: \(m)"
        case .timeout: return "redis command timed out"
        case .server(let m): return "redis error: \(m)"
        case .unexpectedReply(let m): return "unexpected redis reply: \(m)"
        case .closed: return "redis client closed"
        }
    }

    /// True for failures meaning "Redis could not be asked" (the `on_unavailable` policy applies),
    /// false for answers Redis gave.
    public var isUnavailability: Bool {
        switch self {
        case .unavailable, .connectionLost, .timeout, .closed: return true
        case .server, .unexpectedReply: return false
        }
    }
}
