import RampartHTTP

/// Request and response header hygiene of a proxy hop (RFC 9110 §7.6): hop-by-hop fields are
/// dropped both ways, the X-Forwarded-* family and Via are set, the request id travels upstream.
public enum ForwardingHeaders {
    /// Fields that describe one connection, never forwarded (plus any named in Connection).
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer",
                                        "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization"]

    static func isHopByHop(_ lowercasedName: String, connectionTokens: [String]) -> Bool {
        hopByHop.contains(lowercasedName) || connectionTokens.contains(lowercasedName)
    }

    /// The headers sent upstream for a client request.
    public static func upstreamRequestHeaders(_ head: HTTPRequestHead, peerIP: [UInt8], peerText: String,
                                              trustedProxies: [CIDR], requestID: String,
                                              upstream: UpstreamConfig, tls: Bool) -> HTTPHeaders {
        var out = HTTPHeaders()
        out.fields.reserveCapacity(head.headers.fields.count + 5)
        let peerTrusted = trustedProxies.contains { $0.contains(peerIP) }
        var priorForwardedFor: [String] = []
        var priorProto: String?
        for f in head.headers.fields {
            let lower = f.name.lowercased()
            if isHopByHop(lower, connectionTokens: head.connectionTokens) { continue }
            switch lower {
            case "content-length", "x-request-id", "via", "expect":
                continue  // framing and Expect are the transport's; id and Via are set below
            case "x-forwarded-for":
                if peerTrusted { priorForwardedFor.append(f.value) }
                continue
            case "x-forwarded-proto":
                if peerTrusted { priorProto = f.value }
                continue
            case "x-forwarded-host":
                continue
            case "host":
                // Apps next door expect the public host; a TLS provider needs its own name (SNI, routing).
                out.add("Host", upstream.scheme == "https" ? upstream.authority : f.value)
                continue
            default:
                out.fields.append(f)
            }
        }
        if !out.contains("Host") { out.add("Host", upstream.authority) }
        priorForwardedFor.append(peerText)
        out.add("X-Forwarded-For", priorForwardedFor.joined(separator: ", "))
        out.add("X-Forwarded-Proto", priorProto ?? (tls ? "https" : "http"))
        if let host = head.headers["Host"] { out.add("X-Forwarded-Host", host) }
        let via = head.headers.values("Via")
        out.add("Via", (via + ["1.\(head.versionMinor) rampart"]).joined(separator: ", "))
        out.add("X-Request-Id", requestID)
        return out
    }

    /// The upstream's response head made fit for the client.
    public static func clientResponseHeaders(_ upstream: HTTPHeaders, requestID: String) -> HTTPHeaders {
        var tokens: [String] = []
        for v in upstream.values("Connection") {
            for t in v.split(separator: ",") { tokens.append(t.trimmingSpaces().lowercased()) }
        }
        var out = HTTPHeaders()
        out.fields.reserveCapacity(upstream.fields.count + 3)
        var via: [String] = []
        for f in upstream.fields {
            let lower = f.name.lowercased()
            if isHopByHop(lower, connectionTokens: tokens) { continue }
            if lower == "x-request-id" { continue }
            if lower == "via" { via.append(f.value); continue }
            out.fields.append(f)
        }
        via.append("1.1 rampart")
        out.add("Via", via.joined(separator: ", "))
        out.add("X-Request-Id", requestID)
        return out
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

extension UpstreamConfig {
    /// host[:port] as it belongs in a Host header for this upstream.
    public var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let defaultPort: UInt16 = scheme == "https" ? 443 : 80
        return port == defaultPort ? h : "\(h):\(port)"
    }
}
