import Foundation
import Glibc

/// The listening socket and the per-connection loop. Why one blocking thread per connection: it is
/// a demo and a test fixture — the simplest model whose behaviour (backpressure from blocking
/// writes, one request at a time per connection) is obvious to anyone reading a test.
struct Server: Sendable {
    enum StartError: Error, CustomStringConvertible {
        case resolve(String)
        case socket(String)

        var description: String {
            switch self {
            case .resolve(let m), .socket(let m): m
            }
        }
    }

    let fd: Int32
    /// The bound address, numeric (IPv6 in brackets), as printed in the "listening on" line.
    let address: String
    let port: Int
    let logRequests: Bool

    init(host: String, port: Int, logRequests: Bool) throws(StartError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var info: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &info)
        guard rc == 0, let addr = info else {
            throw .resolve("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(info) }

        let fd = socket(addr.pointee.ai_family, addr.pointee.ai_socktype, addr.pointee.ai_protocol)
        guard fd >= 0 else { throw .socket("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, addr.pointee.ai_addr, addr.pointee.ai_addrlen) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw .socket("cannot listen on \(host):\(port): \(message)")
        }
        guard listen(fd, 1024) == 0 else {
            Glibc.close(fd)
            throw .socket("listen: \(String(cString: strerror(errno)))")
        }

        // Learn the real address and port (for --port 0 and host names such as "localhost").
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var hostBuffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var portBuffer = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                getsockname(fd, address, &length) == 0
                    && getnameinfo(address, length, &hostBuffer, socklen_t(hostBuffer.count), &portBuffer,
                                   socklen_t(portBuffer.count), NI_NUMERICHOST | NI_NUMERICSERV) == 0
            }
        }
        func text(_ buffer: [CChar]) -> String {
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let boundHost = named ? text(hostBuffer) : host
        self.address = boundHost.contains(":") ? "[\(boundHost)]" : boundHost
        self.port = named ? Int(text(portBuffer)) ?? port : port
        self.fd = fd
        self.logRequests = logRequests
    }

    /// Accepts forever, one thread per connection.
    func run() -> Never {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                continue
            }
            let thread = Thread { [self] in serve(client) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Request/response loop for one connection (keep-alive until either side says close).
    private func serve(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // Idle keep-alive connections and stalled readers release their thread eventually.
        var timeout = timeval(tv_sec: 300, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let conn = Connection(fd: fd)
        while !conn.isClosed {
            let request: Request
            do {
                guard let r = try RequestReader.read(from: conn) else { break }
                request = r
            } catch {
                switch error {
                case .closed: break
                case .bad(let message): rejectAndClose(conn, 400, "bad_request", message)
                case .tooLarge(let message): rejectAndClose(conn, 413, "payload_too_large", message)
                case .headTooLarge: rejectAndClose(conn, 431, "header_too_large", "request head over 64 KiB")
                }
                break
            }
            if DemoWebSocket.isUpgrade(request) { DemoWebSocket.serve(conn, request); break }
            let res = ResponseWriter(conn: conn, request: request)
            Router.handle(request, res)
            res.finish()
            if logRequests {
                Server.log("\(request.method) \(request.target) -> \(res.status) (\(res.bodyBytes) bytes)")
            }
            if !res.keepAlive { break }
        }
        conn.close()
    }

    private func rejectAndClose(_ conn: Connection, _ status: Int, _ type: String, _ message: String) {
        let body = JSON(dictionaryLiteral: ("error", ["type": .string(type), "message": .string(message)])).bytes
        let head = "HTTP/1.1 \(status) \(ResponseWriter.reason(status))\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        conn.write(Array(head.utf8) + body)
    }

    static func log(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
