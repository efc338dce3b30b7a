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
    public var enabled: Bool
    public var level: LoggingConfig.Level

    public init(loop: EventLoop?, enabled: Bool, level: LoggingConfig.Level) {
        self.loop = loop; self.enabled = enabled; self.level = level
    }

    public func log(_ r: AccessRecord) {
        guard enabled else { return }
        var line = "{\"time\":\"\(Self.timestamp())\",\"type\":\"access\",\"request_id\":\(JSONText.quote(r.requestID))"
        line += ",\"method\":" + (r.method.map(JSONText.quote) ?? "null") + ",\"path\":" + (r.path.map(JSONText.quote) ?? "null")
        line += ",\"query\":" + (r.query.map { JSONText.quote(Self.redact($0, redactedParams)) } ?? "null")
        line += ",\"route\":" + (r.route.map(JSONText.quote) ?? "null")
        line += ",\"user\":" + (r.user.map(JSONText.quote) ?? "null")
        line += ",\"status\":\(r.status),\"upstream_status\":" + (r.upstreamStatus.map(String.init) ?? "null")
        line += ",\"bytes_in\":\(r.bytesIn),\"bytes_out\":\(r.bytesOut)"
        line += ",\"duration_ms\":\(Self.ms(r.durationMs)),\"upstream_ms\":" + (r.upstreamMs.map(Self.ms) ?? "null")
        line += ",\"retries\":\(r.retries),\"breaker\":" + (r.breaker.map(JSONText.quote) ?? "null")
        line += ",\"quota_remaining\":" + (r.quotaRemaining.map(String.init) ?? "null")
        line += ",\"truncated\":" + (r.truncated.map(JSONText.quote) ?? "null") + ",\"save\":" + (r.save ?? "null")
        line += ",\"peer\":\(JSONText.quote(r.peer))"
        line += ",\"error\":" + (r.error.map(JSONText.quote) ?? "null") + ",\"reason\":" + (r.reason.map(JSONText.quote) ?? "null")
        line += "}\n"
        append(line)
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
        guard let loop else { Self.writeAll(Array(line.utf8)); return }
        buffer.append(contentsOf: line.utf8)
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

    package static func ms(_ v: Double) -> String { String(Double(Int((v * 1000).rounded())) / 1000) }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func p2(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let msv = Int(ts.tv_nsec / 1_000_000)
        let msText = msv < 10 ? "00\(msv)" : msv < 100 ? "0\(msv)" : "\(msv)"
        return "\(tm.tm_year + 1900)-\(p2(tm.tm_mon + 1))-\(p2(tm.tm_mday))T\(p2(tm.tm_hour)):\(p2(tm.tm_min)):\(p2(tm.tm_sec)).\(msText)Z"
    }
}
