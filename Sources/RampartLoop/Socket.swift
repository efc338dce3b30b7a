import CLinux
import Glibc

/// Thin, typed wrappers over the BSD socket calls the server needs.
public enum Socket {
    public struct SystemError: Error, CustomStringConvertible {
        public var call: String
        public var errno: Int32
        public var description: String { "\(call): \(String(cString: strerror(errno)))" }
    }

    /// A non-blocking listening socket. `reusePort` lets every worker loop own a socket on the same
    /// address so the kernel spreads connections across loops without a shared accept lock.
    public static func listen(_ address: SocketAddress, reusePort: Bool, backlog: Int32 = 1024) throws(SystemError) -> Int32 {
        let fd = try bound(address, reusePort: reusePort)
        guard Glibc.listen(fd, backlog) == 0 else { let e = errno; close(fd); throw SystemError(call: "listen", errno: e) }
        return fd
    }

    /// Fails with EADDRINUSE when another process listens on `address`. SO_REUSEPORT would let a
    /// second gateway bind the port silently and split the traffic with the first, so the
    /// port is tried once without it (a listening socket refuses that bind) before the loops bind it.
    public static func ensureFree(_ address: SocketAddress) throws(SystemError) {
        guard address.port != 0 else { return }
        close(try bound(address, reusePort: false))
    }

    private static func bound(_ address: SocketAddress, reusePort: Bool) throws(SystemError) -> Int32 {
        let host = address.host == "localhost" ? "127.0.0.1" : address.host
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(call: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var rc: Int32
        if v6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = address.port.bigEndian
            guard inet_pton(AF_INET6, host, &sa.sin6_addr) == 1 else { close(fd); throw SystemError(call: "inet_pton(\(host))", errno: EINVAL) }
            rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = address.port.bigEndian
            guard inet_pton(AF_INET, host, &sa.sin_addr) == 1 else { close(fd); throw SystemError(call: "inet_pton(\(host))", errno: EINVAL) }
            rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else { let e = errno; close(fd); throw SystemError(call: "bind \(address)", errno: e) }
        return fd
    }

    /// The port a socket is bound to (for `:0` listeners in tests).
    public static func boundPort(_ fd: Int32) -> UInt16 {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return peer(ss).port
    }

    /// What one accept(2) gave.
    public enum Accepted {
        case connection(fd: Int32, ip: [UInt8], ipText: String)
        /// The queue is empty.
        case none
        /// The process (EMFILE) or the system (ENFILE) has no descriptor left, or the kernel no
        /// memory for one: the connection stays queued, so a level-triggered listener would wake
        /// again at once; the caller must refuse it another way or pause.
        case outOfDescriptors
        /// This one failed (aborted before it was taken, EINTR): try the next.
        case failed
    }

    /// Accepts one connection, non-blocking and close-on-exec, with TCP_NODELAY set.
    public static func accept(_ listenFd: Int32) -> Accepted {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &ss) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                rampart_accept4(listenFd, $0, &len)
            }
        }
        guard fd >= 0 else {
            switch errno {
            case EAGAIN, EWOULDBLOCK, EBADF, EINVAL, ENOTSOCK: return .none
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .outOfDescriptors
            default: return .failed
            }
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let p = peer(ss)
        return .connection(fd: fd, ip: p.ip, ipText: p.text)
    }

    private static func peer(_ ss: sockaddr_storage) -> (ip: [UInt8], text: String, port: UInt16) {
        var ss = ss
        if Int32(ss.ss_family) == AF_INET6 {
            return withUnsafePointer(to: &ss) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p -> ([UInt8], String, UInt16) in
                    var addr = p.pointee.sin6_addr
                    let bytes = withUnsafeBytes(of: &addr) { Array($0) }
                    // IPv4-mapped (::ffff:a.b.c.d): report as IPv4 so CIDRs like 127.0.0.1/32 match.
                    if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                        let v4 = Array(bytes[12..<16])
                        return (v4, v4.map(String.init).joined(separator: "."), UInt16(bigEndian: p.pointee.sin6_port))
                    }
                    var buf = [UInt8](repeating: 0, count: 64)
                    buf.withUnsafeMutableBufferPointer { b in
                        b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: 64) { _ = inet_ntop(AF_INET6, &addr, $0, 64) }
                    }
                    let text = String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
                    return (bytes, text, UInt16(bigEndian: p.pointee.sin6_port))
                }
            }
        }
        return withUnsafePointer(to: &ss) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p -> ([UInt8], String, UInt16) in
                var addr = p.pointee.sin_addr
                let bytes = withUnsafeBytes(of: &addr) { Array($0) }
                return (bytes, bytes.map(String.init).joined(separator: "."), UInt16(bigEndian: p.pointee.sin_port))
            }
        }
    }

    /// Parses a textual IPv4/IPv6 address into bytes (for trusted-proxy checks on X-Forwarded-For).
    public static func parseIP(_ text: String) -> [UInt8]? {
        if text.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, text, &a) == 1 else { return nil }
            return withUnsafeBytes(of: &a) { Array($0) }
        }
        var a = in_addr()
        guard inet_pton(AF_INET, text, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { Array($0) }
    }
}

/// A listen address: a numeric host (or localhost) and a port.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String   // numeric IPv4 or IPv6 literal (no brackets), or "localhost"
    public var port: UInt16
    public init(host: String, port: UInt16) { self.host = host; self.port = port }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var isLoopback: Bool { host == "localhost" || host.hasPrefix("127.") || host == "::1" }
}
