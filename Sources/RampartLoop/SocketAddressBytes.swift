import CLinux
import Foundation
import Glibc

/// A socket address as raw `sockaddr_in`/`sockaddr_in6` bytes: Sendable across the DNS threads,
/// comparable (a changed DNS answer retires pooled connections), ready for `connect(2)`.
package struct SocketAddressBytes: Sendable, Hashable {
    package var family: Int32
    package var bytes: [UInt8]

    package static func numeric(host: String, port: UInt16) -> SocketAddressBytes? {
        let h = host == "localhost" ? "127.0.0.1" : host
        var a4 = in_addr()
        if inet_pton(AF_INET, h, &a4) == 1 {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr = a4
            return SocketAddressBytes(family: AF_INET, bytes: withUnsafeBytes(of: &sa) { Array($0) })
        }
        var a6 = in6_addr()
        if inet_pton(AF_INET6, h, &a6) == 1 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            sa.sin6_addr = a6
            return SocketAddressBytes(family: AF_INET6, bytes: withUnsafeBytes(of: &sa) { Array($0) })
        }
        return nil
    }

    package enum Resolution: Sendable { case success(SocketAddressBytes), failure(String) }

    /// Blocking getaddrinfo; call off the loop. The first address of `resolveAll`.
    package static func resolve(host: String, port: UInt16) -> Resolution {
        switch resolveAll(host: host, port: port) {
        case .success(let all): return .success(all[0])
        case .failure(let e): return .failure(e.message)
        }
    }

    /// Blocking getaddrinfo; call off the loop. The IPv4 addresses when there are any, else the
    /// IPv6 ones, in the resolver's order without duplicates: container networks often publish an
    /// AAAA record nothing listens on, and `localhost` may resolve to both.
    package static func resolveAll(host: String, port: UInt16) -> Result<[SocketAddressBytes], ResolveError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(ResolveError(message: "resolve \(host): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(list) }
        var v4: [SocketAddressBytes] = [], v6: [SocketAddressBytes] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let cur = p {
            p = cur.pointee.ai_next
            guard let addr = cur.pointee.ai_addr else { continue }
            let a = SocketAddressBytes(family: cur.pointee.ai_family,
                                       bytes: Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(addr), count: Int(cur.pointee.ai_addrlen))))
            if a.family == AF_INET, !v4.contains(a) { v4.append(a) }
            if a.family == AF_INET6, !v6.contains(a) { v6.append(a) }
        }
        let chosen = v4.isEmpty ? v6 : v4
        return chosen.isEmpty ? .failure(ResolveError(message: "resolve \(host): no IPv4/IPv6 address")) : .success(chosen)
    }
}

/// Why a host name did not resolve.
package struct ResolveError: Error, Equatable, Sendable {
    package var message: String
    package init(message: String) { self.message = message }
}
