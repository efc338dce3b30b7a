import Glibc

/// One access-log record (SPEC §9). Fields that belong to later capabilities stay nil until then.
public struct AccessRecord {
    public var requestID: String
    public var method: String
    public var path: String
    public var route: String?
    public var user: String?
    public var status: Int
    public var upstreamStatus: Int?
    public var bytesIn: Int
    public var bytesOut: Int
    public var durationMs: Double
    public var upstreamMs: Double?
    public var retries: Int = 0
    public var breaker: String?
    public var quotaRemaining: Int?
    public var truncated: String?
    public var error: String?
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
        line += ",\"method\":\(JSONText.quote(r.method)),\"path\":\(JSONText.quote(r.path))"
        line += ",\"route\":" + (r.route.map(JSONText.quote) ?? "null")
        line += ",\"user\":" + (r.user.map(JSONText.quote) ?? "null")
        line += ",\"status\":\(r.status),\"upstream_status\":" + (r.upstreamStatus.map(String.init) ?? "null")
        line += ",\"bytes_in\":\(r.bytesIn),\"bytes_out\":\(r.bytesOut)"
        line += ",\"duration_ms\":\(Self.ms(r.durationMs)),\"upstream_ms\":" + (r.upstreamMs.map(Self.ms) ?? "null")
        line += ",\"retries\":\(r.retries),\"breaker\":" + (r.breaker.map(JSONText.quote) ?? "null") + ",\"quota_remaining\":" + (r.quotaRemaining.map(String.init) ?? "null") + ",\"truncated\":" + (r.truncated.map(JSONText.quote) ?? "null") + ",\"save\":null"
        line += ",\"peer\":\(JSONText.quote(r.peer))"
        if let e = r.error { line += ",\"error\":\(JSONText.quote(e))" }
        line += "}\n"
        append(line)
    }

    /// A request that never became a request (malformed, timed out): still one line, for ops.
    public func logConnectionError(status: Int, code: String, peer: String, requestID: String) {
        guard enabled else { return }
        append("{\"time\":\"\(Self.timestamp())\",\"type\":\"access\",\"request_id\":\(JSONText.quote(requestID)),\"status\":\(status),\"error\":\(JSONText.quote(code)),\"peer\":\(JSONText.quote(peer))}\n")
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

    static func writeAll(_ bytes: [UInt8]) { bytes.withUnsafeBytes { writeAll($0) } }
    static func writeAll(_ bytes: UnsafeRawBufferPointer) {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(1, bytes.baseAddress! + off, bytes.count - off)
            if n <= 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }

    static func ms(_ v: Double) -> String { String(Double(Int((v * 1000).rounded())) / 1000) }

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
