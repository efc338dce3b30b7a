import Foundation
import Glibc

/// A deliberately raw HTTP/1.1 client on blocking sockets: tests need byte-level control
/// (pipelining, trickling, malformed requests, slow reading) that URLSession cannot give.
final class HTTPClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        func headers(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name.lowercased() }.map { $0.1 } }
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    }

    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16, timeout: Double = 30) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { let e = errno; close(fd); throw TestFailure("connect to \(port): errno \(e)") }
        setTimeout(timeout)
    }

    deinit { close(fd) }

    func peekBuffer() -> [UInt8] { buffer }
    func clearBuffer() { buffer.removeAll() }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send failed: errno \(errno)") }
            off += n
        }
    }
    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads more bytes into the buffer; false on EOF. Throws on timeout.
    @discardableResult
    func fill(max: Int = 65536) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: max)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
        if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return true }
        if n == 0 { return false }
        if errno == ECONNRESET { return false }
        throw TestFailure("recv timed out or failed: errno \(errno)")
    }

    /// True when the server closed the connection (EOF or reset) before `timeout`.
    func isClosedByPeer(timeout: Double = 10) -> Bool {
        setTimeout(timeout)
        defer { setTimeout(30) }
        while true {
            guard let more = try? fill() else { return false }
            if !more { return true }
            buffer.removeAll()
        }
    }

    /// Everything the server sends until it closes (EOF or reset), or nil when the connection is
    /// still open after `timeout` seconds without a byte.
    func readToEOF(timeout: Double) -> [UInt8]? {
        setTimeout(timeout)
        defer { setTimeout(30) }
        while true {
            guard let more = try? fill() else { return nil }
            if !more { let out = buffer; buffer.removeAll(); return out }
        }
    }

    func readUntil(_ needle: String) throws -> String {
        let n = Array(needle.utf8)
        while true {
            if let r = find(n) {
                let out = Array(buffer[0..<r.upperBound]); buffer.removeFirst(r.upperBound)
                return String(decoding: out, as: UTF8.self)
            }
            guard try fill() else { throw TestFailure("EOF before \(needle.debugDescription); got \(String(decoding: buffer, as: UTF8.self).prefix(300))") }
        }
    }

    private func find(_ n: [UInt8]) -> Range<Int>? {
        guard buffer.count >= n.count else { return nil }
        for i in 0...(buffer.count - n.count) where buffer[i] == n[0] {
            if Array(buffer[i..<i + n.count]) == n { return i..<i + n.count }
        }
        return nil
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { guard try fill() else { throw TestFailure("EOF in body") } }
        let out = Array(buffer[0..<count]); buffer.removeFirst(count); return out
    }

    /// A response head's status and fields; a malformed head fails the test that read it.
    static func parseHead(_ head: String) throws -> Response {
        var lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw TestFailure("empty response head") }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, statusLine.hasPrefix("HTTP/1."), let status = Int(parts[1]) else { throw TestFailure("bad status line \(statusLine.debugDescription)") }
        let headers = try lines.map { l -> (String, String) in
            guard let i = l.firstIndex(of: ":") else { throw TestFailure("header line without a colon: \(l.debugDescription)") }
            return (String(l[..<i]), l[l.index(after: i)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers, body: [])
    }

    /// Reads one response (skipping 1xx unless `keepInformational`).
    func readResponse(method: String = "GET", keepInformational: Bool = false) throws -> Response {
        while true {
            var r = try Self.parseHead(try readUntil("\r\n\r\n"))
            if r.status < 200 { if keepInformational { return r }; continue }
            if method == "HEAD" || r.status == 204 || r.status == 304 { return r }
            if let cl = r.header("Content-Length") {
                guard let n = Int(cl) else { throw TestFailure("bad Content-Length \(cl.debugDescription)") }
                r.body = try readExactly(n)
            } else if r.header("Transfer-Encoding")?.lowercased() == "chunked" {
                while let chunk = try readChunk() { r.body += chunk }
            } else {
                while try fill() {}
                r.body = buffer; buffer.removeAll()
            }
            return r
        }
    }

    /// Reads the head of a streamed response and leaves the body for `readUntil`, `readChunk`
    /// or `readEvent`.
    func readHead() throws -> Response { try Self.parseHead(try readUntil("\r\n\r\n")) }

    /// The next chunk of a chunked body (after `readHead`), decoded; nil at the last chunk, whose
    /// trailer section is consumed. Throws on EOF before it: a body cut short is never a clean end.
    func readChunk() throws -> [UInt8]? {
        let sizeLine = try readUntil("\r\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard let sizeText = sizeLine.split(separator: ";").first, let size = Int(sizeText, radix: 16) else {
            throw TestFailure("bad chunk size line \(String(sizeLine).debugDescription)")
        }
        if size == 0 {
            while try readUntil("\r\n") != "\r\n" {}   // trailer fields, then the empty line
            return nil
        }
        let data = try readExactly(size)
        guard try readExactly(2) == [13, 10] else { throw TestFailure("chunk of \(size) bytes not followed by CRLF") }
        return data
    }

    private var events: [UInt8] = []

    /// The next server-sent event of a chunked event stream, as the text before its blank line
    /// (`"event: tick\ndata: {...}"`); nil at the clean end of the body.
    func readEvent() throws -> String? {
        while true {
            if let end = RawUpstream.find([10, 10], in: events) {
                let event = String(decoding: events[0..<end], as: UTF8.self)
                events.removeFirst(end + 2)
                return event
            }
            guard let chunk = try readChunk() else {
                guard events.isEmpty else { throw TestFailure("stream ended inside an event: \(String(decoding: events, as: UTF8.self).debugDescription)") }
                return nil
            }
            events += chunk
        }
    }

    /// Every remaining event until the clean end of the body.
    func readEventsToEnd() throws -> [String] {
        var all: [String] = []
        while let e = try readEvent() { all.append(e) }
        return all
    }

    static func requestText(method: String, path: String, body: [UInt8] = [], headers: [String: String] = [:], close: Bool = true) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { text += "Content-Length: \(body.count)\r\n" }
        if close { text += "Connection: close\r\n" }
        text += "\r\n"
        return Array(text.utf8) + body
    }

    /// One request on a fresh connection.
    static func request(port: UInt16, method: String = "GET", path: String, body: [UInt8] = [], headers: [String: String] = [:]) throws -> Response {
        let c = try HTTPClient(port: port)
        try c.send(requestText(method: method, path: path, body: body, headers: headers))
        return try c.readResponse(method: method)
    }
}
