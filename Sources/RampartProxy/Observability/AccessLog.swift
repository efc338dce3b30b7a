import RampartHTTP
import RampartLoop
import RampartTransport
import Foundation
import Glibc

/// One access-log record (SPEC §9). Every kind of response (proxied, Rampart's own error, a
/// request the parser refused) writes the same fields, null where they do not apply, so a log
/// pipeline needs one schema.
public struct AccessRecord {
    public var requestID: String
    public var method: String?
    public var path: String?
    /// The raw query string; written with the values of `logging.redact_query_params` masked.
    public var query: String? = nil
    public var route: String?
    public var user: String?
    public var status: Int
    public var upstreamStatus: Int?
    public var bytesIn: Int
    /// Body bytes sent to the client, Rampart's own error bodies and final events included.
    public var bytesOut: Int
    public var durationMs: Double
    public var upstreamMs: Double?
    public var retries: Int = 0
    public var breaker: String?
    public var quotaRemaining: Int?
    public var truncated: String?
    /// A confirmed save's outcome as a JSON object (`result`, `attempts`, `reason`), else nil.
    public var save: String? = nil
    /// The error code (Rampart's) or the upstream failure.
    public var error: String?
    /// Why, in words: a 401's verification failure, the message of Rampart's own error reply.
    public var reason: String? = nil
    public var peer: String
}

/// JSON lines on stdout, one per request, written per worker and flushed once per loop iteration.
/// Each write holds whole lines and stays under PIPE_BUF, so lines from workers never interleave.
public final class AccessLog {
    private let loop: EventLoop?
    private var buffer = [UInt8]()
    private var flushScheduled = false
    // Loop-confined, set by a config swap between requests (see `EventLoop` on the attribute).
    @exclusivity(unchecked) public var enabled: Bool
    @exclusivity(unchecked) public var level: LoggingConfig.Level

    public init(loop: EventLoop?, enabled: Bool, level: LoggingConfig.Level) {
        self.loop = loop; self.enabled = enabled; self.level = level
    }

    /// Written as bytes straight into the worker's buffer (one line per request, so no String is
    /// built per field); the date part of the time is formatted once per second.
    public func log(_ r: AccessRecord) {
        guard enabled else { return }
        let query = r.query.map { Self.redact($0, redactedParams) }
        let (prefix, millis) = timestampParts()
        Self.encode(r, query: query, time: prefix, millis: millis, into: &buffer)
        scheduleFlush()
    }

    static func encode(_ r: AccessRecord, query: String?, time: [UInt8], millis: Int, into o: inout [UInt8]) {
        func n(_ s: String?) -> Int { s?.utf8.count ?? 0 }
        let strings = n(r.requestID) + n(r.method) + n(r.path) + n(query) + n(r.route) + n(r.user) + n(r.breaker) + n(r.truncated)
            + n(r.save) + n(r.peer) + n(r.error) + n(r.reason) + time.count
        let bound = AccessLineWriter.bound(strings: strings, numbers: 12)
        let start = o.count
        o.append(contentsOf: repeatElement(0, count: bound))
        let written = o.withUnsafeMutableBufferPointer { buf in
            var w = AccessLineWriter(at: buf.baseAddress! + start)
            w.lit(#"{"time":""#); time.withUnsafeBufferPointer { w.bytes($0) }
            w.byte(UInt8(ascii: ".")); w.byte(UInt8(ascii: "0") + UInt8(millis / 100))
            w.byte(UInt8(ascii: "0") + UInt8(millis / 10 % 10)); w.byte(UInt8(ascii: "0") + UInt8(millis % 10))
            w.lit(#"Z","type":"access","request_id":"#); w.string(r.requestID)
            w.lit(#","method":"#); w.string(r.method); w.lit(#","path":"#); w.string(r.path)
            w.lit(#","query":"#); w.string(query)
            w.lit(#","route":"#); w.string(r.route)
            w.lit(#","user":"#); w.string(r.user)
            w.lit(#","status":"#); w.int(r.status); w.lit(#","upstream_status":"#); w.int(r.upstreamStatus)
            w.lit(#","bytes_in":"#); w.int(r.bytesIn); w.lit(#","bytes_out":"#); w.int(r.bytesOut)
            w.lit(#","duration_ms":"#); w.ms(r.durationMs); w.lit(#","upstream_ms":"#); w.ms(r.upstreamMs)
            w.lit(#","retries":"#); w.int(r.retries); w.lit(#","breaker":"#); w.string(r.breaker)
            w.lit(#","quota_remaining":"#); w.int(r.quotaRemaining)
            w.lit(#","truncated":"#); w.string(r.truncated); w.lit(#","save":"#)
            if let save = r.save { HTTPHeaders.withBytes(save) { w.bytes($0) } } else { w.lit("null") }
            w.lit(#","peer":"#); w.string(r.peer)
            w.lit(#","error":"#); w.string(r.error); w.lit(#","reason":"#); w.string(r.reason)
            w.lit("}\n")
            return w.p - (buf.baseAddress! + start)
        }
        o.removeLast(bound - written)
    }

    /// Decimal digits, no String made (what the line writer writes).
    static func writeInt(_ v: Int, to o: inout [UInt8]) { write(to: &o) { $0.int(v) } }

    /// Milliseconds as the line writer writes them.
    static func writeMs(_ v: Double, to o: inout [UInt8]) { write(to: &o) { $0.ms(v) } }

    private static func write(to o: inout [UInt8], _ body: (inout AccessLineWriter) -> Void) {
        let bound = AccessLineWriter.bound(strings: 0, numbers: 1)
        let start = o.count
        o.append(contentsOf: repeatElement(0, count: bound))
        let n = o.withUnsafeMutableBufferPointer { buf in
            var w = AccessLineWriter(at: buf.baseAddress! + start)
            body(&w)
            return w.p - (buf.baseAddress! + start)
        }
        o.removeLast(bound - n)
    }

    /// "2026-12-06T11:04:48.123Z": the part up to the second is reused within the same second.
    private var stampSecond = -1
    private var stampPrefix: [UInt8] = []

    /// The time up to the second (reused within the second) and the milliseconds.
    private func timestampParts() -> ([UInt8], Int) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        if Int(ts.tv_sec) != stampSecond {
            stampSecond = Int(ts.tv_sec)
            stampPrefix = Array(Self.timestamp(ts).utf8.prefix(19))
        }
        return (stampPrefix, Int(ts.tv_nsec / 1_000_000))
    }

    /// A request that never became a request (malformed, timed out): the same line, with what is known.
    public func logConnectionError(status: Int, code: String, message: String, peer: String, requestID: String, bytesOut: Int,
                                   head: (method: String, path: String, query: String?)? = nil) {
        log(AccessRecord(requestID: requestID, method: head?.method, path: head?.path, query: head?.query, route: nil, user: nil,
                         status: status, upstreamStatus: nil, bytesIn: 0, bytesOut: bytesOut, durationMs: 0, upstreamMs: nil,
                         error: code, reason: message, peer: peer))
    }

    /// Lowercased names from `logging.redact_query_params`.
    public var redactedParams: Set<String> = Set(LoggingConfig.defaultRedactedParams)

    /// `a=1&token=abc` → `a=1&token=[redacted]`: names compared case-insensitively after
    /// percent-decoding, so `Token` or `%74oken` hide their value too.
    package static func redact(_ query: String, _ names: Set<String>) -> String {
        guard !names.isEmpty else { return query }
        var out = ""
        for (i, pair) in query.split(separator: "&", omittingEmptySubsequences: false).enumerated() {
            if i > 0 { out += "&" }
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let plain = (name.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? name).lowercased()
            out += names.contains(plain) && pair.contains("=") ? name + "=[redacted]" : String(pair)
        }
        return out
    }

    /// An operational event (reload, drain, upstream error detail) at `level`.
    public func event(_ level: LoggingConfig.Level, _ message: String, _ fields: [(String, String)] = []) {
        guard level >= self.level else { return }
        var line = "{\"time\":\"\(Self.timestamp())\",\"type\":\"event\",\"level\":\"\(level.rawValue)\",\"message\":\(JSONText.quote(message))"
        for (k, v) in fields { line += ",\(JSONText.quote(k)):\(v)" }
        line += "}\n"
        append(line)
    }

    /// An admin action (SPEC §9 audit trail): written whatever `access_log` and `level` say.
    public func audit(_ fields: [(String, String)]) {
        var line = "{\"time\":\"\(Self.timestamp())\",\"type\":\"audit\""
        for (k, v) in fields { line += ",\(JSONText.quote(k)):\(v)" }
        line += "}\n"
        append(line)
    }

    private func append(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard let loop else { flush(); return }
        if !flushScheduled {
            flushScheduled = true
            loop.deferToEndOfIteration { [self] in flush() }
        }
    }

    public func flush() {
        flushScheduled = false
        var start = 0
        while start < buffer.count {
            // Cut at the last newline within PIPE_BUF (4096) so writes are atomic on pipes.
            var end = min(buffer.count, start + 4096)
            if end < buffer.count {
                var cut = end
                while cut > start && buffer[cut - 1] != 0x0A { cut -= 1 }
                end = cut > start ? cut : end
            }
            buffer[start..<end].withUnsafeBytes { Self.writeAll($0) }
            start = end
        }
        buffer.removeAll(keepingCapacity: buffer.capacity < 1 << 20)
    }

    package static func writeAll(_ bytes: [UInt8]) { bytes.withUnsafeBytes { writeAll($0) } }
    package static func writeAll(_ bytes: UnsafeRawBufferPointer) {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(1, bytes.baseAddress! + off, bytes.count - off)
            if n <= 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }

    /// Milliseconds with at most three decimals; `null` for what JSON cannot hold (NaN, infinities,
    /// beyond Int), never a trap: a log line must not bring the gateway down.
    package static func ms(_ v: Double) -> String {
        let scaled = (v * 1000).rounded()
        guard scaled.isFinite, abs(scaled) < 9e18 else { return "null" }
        return String(Double(Int(scaled)) / 1000)
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return timestamp(ts)
    }

    private static func timestamp(_ ts: timespec) -> String {
        var t = time_t(ts.tv_sec)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func p2(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let msv = Int(ts.tv_nsec / 1_000_000)
        let msText = msv < 10 ? "00\(msv)" : msv < 100 ? "0\(msv)" : "\(msv)"
        return "\(tm.tm_year + 1900)-\(p2(tm.tm_mon + 1))-\(p2(tm.tm_mday))T\(p2(tm.tm_hour)):\(p2(tm.tm_min)):\(p2(tm.tm_sec)).\(msText)Z"
    }
}
