import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A human-readable reason a value was rejected; the caller adds the JSON path.
struct ConfigMessage: Error { var text: String }

extension CIDR {
    /// Parses a numeric IPv4 (4 bytes) or IPv6 (16 bytes) address with inet_pton, the same parser
    /// the kernel side uses, so what the config accepts is what a socket accepts.
    public static func parseAddress(_ s: String) -> [UInt8]? {
        if s.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, s, &a) == 1 else { return nil }
            return withUnsafeBytes(of: &a) { Array($0) }
        }
        var a = in_addr()
        guard inet_pton(AF_INET, s, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { Array($0) }
    }

    /// `10.0.0.0/8`, `::1/128`, or a bare address meaning just that host. Host bits below the
    /// prefix are ignored (`contains` masks them), so `192.168.1.7/24` means 192.168.1.0/24.
    public static func parse(_ s: String) -> CIDR? {
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = parseAddress(String(parts[0])) else { return nil }
        let maxPrefix = address.count * 8
        guard parts.count == 2 else { return CIDR(address: address, prefixLength: maxPrefix) }
        guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber),
              parts[1].count <= 3, let prefix = Int(parts[1]), prefix <= maxPrefix else { return nil }
        return CIDR(address: address, prefixLength: prefix)
    }
}

extension SocketAddress {
    /// Parses a listen address `host:port` or `[ipv6]:port`; the host is numeric or "localhost".
    public static func parse(_ s: String) -> SocketAddress? {
        try? parseListen(s).get()
    }

    static func parseListen(_ s: String) -> Result<SocketAddress, ConfigMessage> {
        let shown = JSONValue.string(s).jsonText()
        let usage = "use host:port such as 0.0.0.0:8080, 127.0.0.1:9901 or [::]:8080"
        let host: Substring, portText: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]"), s[s.index(after: close)...].hasPrefix(":") else {
                return .failure(ConfigMessage(text: "\(shown) is not a listen address; \(usage)"))
            }
            host = s[s.index(after: s.startIndex)..<close]
            portText = s[s.index(close, offsetBy: 2)...]
            guard host.contains(":"), CIDR.parseAddress(String(host)) != nil else {
                return .failure(ConfigMessage(text: "\(shown): [\(host)] is not an IPv6 address"))
            }
        } else {
            guard let colon = s.lastIndex(of: ":") else {
                return .failure(ConfigMessage(text: "\(shown) is not a listen address; \(usage)"))
            }
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
            if host.contains(":") {
                return .failure(ConfigMessage(text: "\(shown): put IPv6 addresses in brackets, e.g. [::1]:9901"))
            }
            guard host == "localhost" || CIDR.parseAddress(String(host)) != nil else {
                return .failure(ConfigMessage(text: "\(shown): the host must be a numeric IP address or localhost"))
            }
        }
        // Port 0 asks the kernel for a free port (tests, side-by-side runs); the bound port is logged.
        guard let port = portText == "0" ? 0 : parsePort(portText) else {
            return .failure(ConfigMessage(text: "\(shown): port must be a number between 0 and 65535"))
        }
        return .success(SocketAddress(host: String(host), port: port))
    }
}

/// 1...65535 written as plain digits (no sign, no spaces).
func parsePort(_ s: Substring) -> UInt16? {
    guard !s.isEmpty, s.count <= 5, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
          let n = Int(s), n >= 1, n <= 65535 else { return nil }
    return UInt16(n)
}

/// The parts of an upstream base URL.
struct UpstreamURL: Equatable {
    var scheme: String
    var host: String        // IPv6 without brackets
    var port: UInt16
    var basePath: String    // "" or "/v1", never a trailing slash

    /// Normalised `scheme://host[:port][/base]` (port shown only when it is not the default).
    var text: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let defaultPort: UInt16 = scheme == "https" ? 443 : 80
        return "\(scheme)://\(h)\(port == defaultPort ? "" : ":\(port)")\(basePath)"
    }

    /// Accepts only what a reverse proxy can use as a base: http(s), a host, optional port and
    /// path; no credentials, query or fragment (they would silently apply to every request).
    static func parse(_ s: String) -> Result<UpstreamURL, ConfigMessage> {
        let shown = JSONValue.string(s).jsonText()
        guard let sep = s.range(of: "://") else {
            return .failure(ConfigMessage(text: "\(shown) is not a URL; use http://host:port or https://host"))
        }
        let scheme = s[..<sep.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .failure(ConfigMessage(text: "\(shown): scheme must be http or https"))
        }
        let rest = s[sep.upperBound...]
        if rest.contains(where: { $0 == "?" || $0 == "#" }) {
            return .failure(ConfigMessage(text: "\(shown): a query or fragment is not allowed in an upstream URL"))
        }
        if rest.contains(where: { $0 == " " || $0.asciiValue.map { $0 < 0x21 || $0 == 0x7F } ?? false }) {
            return .failure(ConfigMessage(text: "\(shown): spaces and control characters are not allowed"))
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if authority.contains("@") {
            return .failure(ConfigMessage(text: "\(shown): credentials in the URL are not allowed"))
        }
        var host: Substring
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(ConfigMessage(text: "\(shown): unclosed [ in the host"))
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(ConfigMessage(text: "\(shown): unexpected text after ]")) }
                portText = after.dropFirst()
            }
            guard CIDR.parseAddress(String(host))?.count == 16 else {
                return .failure(ConfigMessage(text: "\(shown): [\(host)] is not an IPv6 address"))
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        if host.isEmpty { return .failure(ConfigMessage(text: "\(shown) has no host")) }
        let hostChars = authority.hasPrefix("[") || host.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x2D || c == 0x2E || c == 0x5F
        }
        guard hostChars else { return .failure(ConfigMessage(text: "\(shown): invalid character in the host")) }
        var port: UInt16 = scheme == "https" ? 443 : 80
        if let portText {
            guard let p = parsePort(portText) else {
                return .failure(ConfigMessage(text: "\(shown): port must be a number between 1 and 65535"))
            }
            port = p
        }
        while path.hasSuffix("/") { path.removeLast() }
        return .success(UpstreamURL(scheme: scheme, host: host.lowercased(), port: port, basePath: path))
    }
}
