import RampartHTTP
import RampartLoop
import RampartTransport

/// Request and response header hygiene of a proxy hop (RFC 9110 §7.6): hop-by-hop fields are
/// dropped both ways, the X-Forwarded-* family and Via are set, the request id travels upstream.
public enum ForwardingHeaders {
    /// What a proxy hop does with a field, told from the name's bytes: every request and response
    /// passes each field through here, so no lowercased copy, hashing or string switch.
    enum Role: Equatable {
        case hopByHop, contentLength, requestID, via, expect, forwardedFor, forwardedProto, forwardedHost, host, other
    }

    static func role(_ name: String) -> Role {
        let r = knownRole(name)
        return r == .other && isProxyField(name) ? .hopByHop : r
    }

    /// `Proxy-*` fields speak to or about a proxy on one hop (Proxy-Authenticate,
    /// Proxy-Authentication-Info, Proxy-Connection…): none travels further.
    private static func isProxyField(_ name: String) -> Bool {
        let u = name.utf8
        guard u.count > 6, let first = u.first, first | 0x20 == UInt8(ascii: "p") else { return false }
        return name.utf8.prefix(6).elementsEqual("proxy-".utf8) { $0 == $1 || $0 | 0x20 == $1 }
    }

    private static func knownRole(_ name: String) -> Role {
        func named(_ n: StaticString) -> Bool { name.asciiCaseInsensitiveEquals(n) }
        switch name.utf8.count {
        case 2: return named("te") ? .hopByHop : .other
        case 3: return named("via") ? .via : .other
        case 4: return named("host") ? .host : .other
        case 6: return named("expect") ? .expect : .other
        case 7: return named("trailer") || named("upgrade") ? .hopByHop : .other
        case 10: return named("connection") || named("keep-alive") ? .hopByHop : .other
        case 12: return named("x-request-id") ? .requestID : .other
        case 14: return named("content-length") ? .contentLength : .other
        case 15: return named("x-forwarded-for") ? .forwardedFor : .other
        case 16: return named("proxy-connection") ? .hopByHop : named("x-forwarded-host") ? .forwardedHost : .other
        case 17: return named("transfer-encoding") ? .hopByHop : named("x-forwarded-proto") ? .forwardedProto : .other
        case 18: return named("proxy-authenticate") ? .hopByHop : .other
        case 19: return named("proxy-authorization") ? .hopByHop : .other
        default: return .other
        }
    }

    /// A field named by the Connection header (tokens are lowercased) is hop-by-hop too.
    static func namedBy(_ connectionTokens: [String], _ name: String) -> Bool {
        !connectionTokens.isEmpty && connectionTokens.contains { name.asciiCaseInsensitiveEquals($0) }
    }

    /// The headers sent upstream for a client request.
    public static func upstreamRequestHeaders(_ head: HTTPRequestHead, peerIP: [UInt8], peerText: String,
                                              trustedProxies: [CIDR], requestID: String,
                                              upstream: UpstreamConfig, tls: Bool) -> HTTPHeaders {
        var out = HTTPHeaders()
        out.fields.reserveCapacity(head.headers.fields.count + 5)
        let peerTrusted = !trustedProxies.isEmpty && trustedProxies.contains { $0.contains(peerIP) }
        var priorForwardedFor: [String] = []
        var priorProto: String?
        var clientHost: String?
        var priorVia: [String] = []
        var sentHost = false
        for f in head.headers.fields {
            let r = role(f.name)
            if r == .via { priorVia.append(f.value) }
            if r == .host, clientHost == nil { clientHost = f.value }
            if r == .hopByHop || namedBy(head.connectionTokens, f.name) { continue }
            switch r {
            case .hopByHop, .contentLength, .requestID, .expect, .forwardedHost, .via:
                continue  // framing and Expect are the transport's; id, Via and X-Forwarded-Host are set below
            case .forwardedFor:
                if peerTrusted { priorForwardedFor.append(f.value) }
            case .forwardedProto:
                if peerTrusted { priorProto = f.value }
            case .host:
                // Apps next door expect the public host; a TLS provider needs its own name (SNI, routing).
                out.add("Host", upstream.scheme == "https" ? upstream.authority : f.value)
                sentHost = true
            case .other:
                out.fields.append(f)
            }
        }
        if !sentHost { out.add("Host", upstream.authority) }
        priorForwardedFor.append(peerText)
        out.add("X-Forwarded-For", priorForwardedFor.count == 1 ? peerText : priorForwardedFor.joined(separator: ", "))
        out.add("X-Forwarded-Proto", priorProto ?? (tls ? "https" : "http"))
        if let clientHost { out.add("X-Forwarded-Host", clientHost) }
        let ours = head.versionMinor == 0 ? "1.0 rampart" : "1.1 rampart"
        out.add("Via", priorVia.isEmpty ? ours : (priorVia + [ours]).joined(separator: ", "))
        out.add("X-Request-Id", requestID)
        return out
    }

    /// The upstream's response head made fit for the client.
    static let viaRampart = HTTPField.checked(name: "Via", value: "1.1 rampart")

    public static func clientResponseHeaders(_ upstream: HTTPHeaders, requestID: String) -> HTTPHeaders {
        let tokens = upstream.connectionFieldNames()
        var out = HTTPHeaders()
        // Room for what the finishing step adds (stage fields, security headers): no regrowth.
        out.fields.reserveCapacity(upstream.fields.count + 12)
        var via: [String] = []
        for f in upstream.fields {
            let r = role(f.name)
            if r == .hopByHop || r == .requestID || namedBy(tokens, f.name) { continue }
            if r == .via { via.append(f.value); continue }
            out.fields.append(f)
        }
        out.add(via.isEmpty ? viaRampart : HTTPField(name: "Via", value: (via + ["1.1 rampart"]).joined(separator: ", ")))
        out.add("X-Request-Id", requestID)
        return out
    }
}

extension UpstreamConfig {
    /// host[:port] as it belongs in a Host header for this upstream.
    public var authority: String { Self.authority(scheme: scheme, host: host, port: port) }

    public static func authority(scheme: String, host: String, port: UInt16) -> String {
        let h = host.contains(":") ? "[\(host)]" : host
        let defaultPort: UInt16 = scheme == "https" ? 443 : 80
        return port == defaultPort ? h : "\(h):\(port)"
    }
}
