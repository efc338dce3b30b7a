import RampartLoop
import Foundation
import Glibc
import Synchronization

/// A scripted upstream on a raw socket: records exactly the bytes Rampart sends and answers each
/// request with a canned response. Used where the demo app is too polite (304s, redirects,
/// hop-by-hop response headers) and for the smuggling corpus, which must see the wire bytes.
final class RawUpstream: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let received = Lock<[[UInt8]]>([])
    private let response: @Sendable ([UInt8]) -> [UInt8]
    private let stopped = Atomic<Bool>(false)
    /// Close each connection after its first response (a body cut short, or one ended by the close).
    private let closeAfterResponse: Bool

    /// Says, for a connection and a request on it (both counted from 0), to close the connection
    /// once the whole request arrived without answering it: a keep-alive connection the server
    /// dropped as the client reused it.
    private let closeWithoutAnswer: @Sendable (_ connection: Int, _ request: Int) -> Bool

    /// `response` gets the request head bytes and returns the full response to write.
    init(closeAfterResponse: Bool = false, closeWithoutAnswer: @escaping @Sendable (Int, Int) -> Bool = { _, _ in false },
         response: @escaping @Sendable ([UInt8]) -> [UInt8]) throws {
        self.response = response
        self.closeAfterResponse = closeAfterResponse
        self.closeWithoutAnswer = closeWithoutAnswer
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in(); addr.sin_family = sa_family_t(AF_INET); addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(s, 64)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = UInt16(bigEndian: addr.sin_port)
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    deinit { stopped.store(true, ordering: .relaxed); shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    var url: String { "http://127.0.0.1:\(port)" }
    /// Everything received, one entry per connection (all requests of that connection concatenated).
    var connections: [[UInt8]] { received.withLock { $0 } }
    var allBytes: [UInt8] { connections.flatMap { $0 } }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            let t = Thread { [self] in serve(c) }
            t.start()
        }
    }

    /// Reads requests (head + Content-Length or chunked body, parsed naively on purpose: it only
    /// needs to find where Rampart's normalised request ends) and answers each.
    private func serve(_ c: Int32) {
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let index = received.withLock { $0.append([]); return $0.count - 1 }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return false }
            buffer += chunk[0..<n]
            received.withLock { $0[index] += chunk[0..<n] }
            return true
        }
        var requests = 0
        outer: while true {
            var headEnd = RawUpstream.find([13, 10, 13, 10], in: buffer)
            while headEnd == nil {
                guard fill() else { break outer }
                headEnd = RawUpstream.find([13, 10, 13, 10], in: buffer)
            }
            guard let end = headEnd else { break }
            let head = Array(buffer[0..<end + 4])
            buffer.removeFirst(end + 4)
            let text = String(decoding: head, as: UTF8.self).lowercased()
            if let r = text.range(of: "\r\ncontent-length:") {
                // "\r\n" is one Character in Swift: stop at either form of the line end.
                let digits = text[r.upperBound...].prefix { $0 != "\r\n" && $0 != "\r" }.trimmingCharacters(in: .whitespaces)
                let n = Int(digits) ?? 0
                while buffer.count < n { if !fill() { break outer } }
                buffer.removeFirst(n)
            } else if text.contains("\r\ntransfer-encoding: chunked") {
                var last = RawUpstream.find(Array("\r\n0\r\n\r\n".utf8), in: [13, 10] + buffer)
                while last == nil {
                    guard fill() else { break outer }
                    last = RawUpstream.find(Array("\r\n0\r\n\r\n".utf8), in: [13, 10] + buffer)
                }
                guard let at = last else { break }
                buffer.removeFirst(min(at - 2 + 7, buffer.count))
            }
            requests += 1
            if closeWithoutAnswer(index, requests - 1) { break }
            let out = response(head)
            // An empty answer is a hang on purpose (a save endpoint that never replies).
            if !out.isEmpty { _ = out.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            if closeAfterResponse || text.contains("connection: close") { break }
        }
        close(c)
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
        return nil
    }

    static func fixed(_ text: String) -> @Sendable ([UInt8]) -> [UInt8] { { _ in Array(text.utf8) } }
}
