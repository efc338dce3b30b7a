import RampartHTTP
import RampartLoop
import RampartTransport

/// Request and response header hygiene of a proxy hop (RFC 9110 §7.6): hop-by-hop fields are
/// dropped both ways, the X-Forwarded-* family and Via are set, the request id travels upstream.
public enum ForwardingHeaders {
    /// What a proxy hop does with a field, told from the name's bytes: every request and response
    /// passes each field through here, so no lowercased copy, hashing or string switch.
    enum Role: Equatable {
        case hopByHop, contentLength, requestID, via, expect, forwardedFor, forwardedProto, forwardedHost, host, contentType, other
    }

    /// A field's role from its name class (noted by the parser, or told from the bytes now).
    static func role(_ known: KnownHeaderName) -> Role {
        if known.isHopByHop { return .hopByHop }
        switch known {
        case .via: return .via
        case .host: return .host
        case .expect: return .expect
        case .requestID: return .requestID
        case .contentType: return .contentType
        case .contentLength: return .contentLength
        case .forwardedFor: return .forwardedFor
        case .forwardedHost: return .forwardedHost
        case .forwardedProto: return .forwardedProto
        default: return .other
        }
    }

    static func role(_ name: UnsafeBufferPointer<UInt8>) -> Role { role(KnownHeaderName.classify(name)) }

    static func role(_ name: String) -> Role {
        HTTPHeaders.withBytes(name) { role($0) }
    }

    /// A field named by the Connection header (tokens are lowercased) is hop-by-hop too.
    @inline(__always)
    static func namedBy(_ connectionTokens: [String], _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        !connectionTokens.isEmpty && namedBy(nonEmpty: connectionTokens, name)
    }

    private static func namedBy(nonEmpty connectionTokens: [String], _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        connectionTokens.contains { t in HTTPHeaders.withBytes(t) { ASCIIBytes.equalsIgnoringCase(name, $0) } }
    }

    /// The fields sent upstream for a client request: the client's list with the fields left
    /// behind marked (hop-by-hop, framing, Expect, the forwarding family it may not set), then
    /// the forwarding fields (Host when it sent none, X-Forwarded-*, Via, the request id). No
    /// field is copied (`ForwardedRequestFields`; the HTTP/1 client writes it as it is); a head
    /// of more than 64 fields is filtered into a list of its own.
    /// `authority`: the upstream's host[:port]; `https`: the upstream speaks TLS. Made in `fields`
    /// (the client's list): a large value returned is copied once more than one filled in place.
    public static func forwardRequest(_ head: HTTPRequestHead, into fields: inout ForwardedRequestFields, peerIP: [UInt8], peerText: String,
                                      trustedProxies: [CIDR], requestID: RequestID,
                                      authority: @autoclosure () -> String, https: Bool, tls: Bool) {
        var scan = RequestFieldScan(peerTrusted: !trustedProxies.isEmpty && trustedProxies.contains { $0.contains(peerIP) },
                                    tokens: head.connectionTokens)
        var dropped: UInt64 = 0
        if fields.base.count <= 64 {
            fields.base.withFieldBytes { f in
                for i in 0..<f.count where scan.leaves(f.knownName(i), f.name(i), f.value(i), at: i) { dropped |= 1 << UInt64(i) }
            }
        } else {
            fields.base.removeFields { known, name, value in scan.leaves(known, name, value, at: scan.kept) }
        }
        // The client's first Host stays where it was (the parser admits one; HTTP/2's is mapped to one).
        let ours = head.versionMinor == 0 ? "1.0 rampart" : "1.1 rampart"
        fields.dropped = dropped
        if let host = scan.host {
            fields.forwardedHostOf = host
            // Apps next door expect the public host; a TLS provider needs its own name (SNI, routing).
            if https { fields.replacedHost = host; fields.replacedHostValue = authority() }
        } else {
            fields.host = authority()
        }
        fields.forwardedFor = scan.priorForwardedFor.map { ($0 + [peerText]).joined(separator: ", ") } ?? peerText
        fields.forwardedProto = scan.priorProto ?? (tls ? "https" : "http")
        fields.via = scan.priorVia.map { ($0 + [ours]).joined(separator: ", ") } ?? ours
        fields.requestID = requestID
    }

    /// What one pass over a client's fields finds for the upstream request.
    struct RequestFieldScan {
        let peerTrusted: Bool
        let tokens: [String]
        /// nil until a field is seen (most requests carry none): nothing to release.
        var priorForwardedFor: [String]?
        var priorProto: String?
        var priorVia: [String]?
        /// The client's first Host: its place in the list sent.
        var host: Int?
        var kept = 0

        init(peerTrusted: Bool, tokens: [String]) { self.peerTrusted = peerTrusted; self.tokens = tokens }

        /// True: field `i` is not forwarded.
        mutating func leaves(_ known: KnownHeaderName, _ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
            let r = ForwardingHeaders.role(known)
            if r == .via { priorVia = (priorVia ?? []) + [String(decoding: value, as: UTF8.self)] }
            if r == .hopByHop || ForwardingHeaders.namedBy(tokens, name) { return true }
            switch r {
            case .hopByHop, .contentLength, .requestID, .expect, .forwardedHost, .via:
                return true  // framing and Expect are the transport's; id, Via and X-Forwarded-Host are set after
            case .forwardedFor:
                if peerTrusted { priorForwardedFor = (priorForwardedFor ?? []) + [String(decoding: value, as: UTF8.self)] }
                return true
            case .forwardedProto:
                if peerTrusted { priorProto = String(decoding: value, as: UTF8.self) }
                return true
            case .host:
                if host == nil { host = i }
                kept += 1
                return false
            case .contentType, .other:
                kept += 1
                return false
            }
        }
    }

    /// What a hop does with one of the upstream's response fields: leaves it behind (hop-by-hop,
    /// named by Connection, the upstream's own request id), takes its Via into its own, or keeps
    /// it (a Content-Type may say the response is an event stream).
    enum ResponseField { case leave, via, contentType, keep }

    static func responseField(_ known: KnownHeaderName, _ name: UnsafeBufferPointer<UInt8>, tokens: [String]) -> ResponseField {
        let r = role(known)
        if r == .hopByHop || r == .requestID || namedBy(tokens, name) { return .leave }
        if r == .via { return .via }
        return r == .contentType ? .contentType : .keep
    }

    /// The upstream's response head made fit for the client.

    public static func clientResponseHeaders(_ upstream: consuming HTTPHeaders, requestID: RequestID) -> HTTPHeaders {
        var eventStream = false
        return clientResponseHeaders(upstream, requestID: requestID, eventStream: &eventStream)
    }

    /// The same, saying in the same pass whether the response is an event stream (its kept
    /// Content-Type is `text/event-stream`).
    public static func clientResponseHeaders(_ upstream: consuming HTTPHeaders, requestID: RequestID, eventStream: inout Bool) -> HTTPHeaders {
        let tokens = upstream.connectionFieldNames()
        var out = upstream
        var via: [String] = []
        var sawContentType = false
        var stream = false
        out.removeFields { known, name, value in
            switch responseField(known, name, tokens: tokens) {
            case .leave:
                return true
            case .via:
                via.append(String(decoding: value, as: UTF8.self))
                return true
            case .contentType:
                if !sawContentType {
                    sawContentType = true
                    stream = ASCIIBytes.hasPrefixLowercase(value, "text/event-stream")
                }
                return false
            case .keep:
                return false
            }
        }
        eventStream = stream
        if via.isEmpty { out.append(contentsOf: ForwardedResponseHead.via) } else { out.add("Via", (via + ["1.1 rampart"]).joined(separator: ", ")) }
        requestID.withUTF8 { out.add(literal: "X-Request-Id", bytes: $0) }
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
