import RampartHTTP
import RampartLoop

/// Where and how the transports reach one upstream, made once when the config loads (never per
/// request): the gateway's `UpstreamConfig` carries one, so this layer needs no config at all.
/// Immutable and shared: a request holds it with one reference, not a copy of its strings.
public final class UpstreamEndpoint: Sendable {
    public let scheme: String
    public let host: String
    public let port: UInt16
    public let tlsVerify: Bool
    /// Rampart's own HTTP/1.1 client (plain http); libcurl for https or when asked for.
    public let usesNativeClient: Bool
    /// The host as a socket address when it is an IP literal; nil for a name, resolved off the loop.
    let numericAddress: SocketAddressBytes?
    /// `host:port`: the native client's pool and DNS cache key.
    public let hostPort: String
    /// The scheme is https: told once here, not by a String compare per request.
    public let isHTTPS: Bool

    public init(scheme: String, host: String, port: UInt16, tlsVerify: Bool = true, usesNativeClient: Bool) {
        self.scheme = scheme; self.host = host; self.port = port; self.tlsVerify = tlsVerify
        self.usesNativeClient = usesNativeClient
        hostPort = "\(host):\(port)"
        isHTTPS = scheme == "https"
        numericAddress = Socket.parseIP(host) != nil ? SocketAddressBytes.numeric(host: host, port: port) : nil
    }
}

/// The deadlines an upstream call runs under, on the loop's clock (SPEC §7.1): connect (the
/// transport's), first byte (counted from the end of the request body), idle gap, total.
public struct CallDeadlines: Sendable {
    public let connectMs: Int
    public let firstByteNs: UInt64
    public let idleNs: UInt64
    public let totalNs: UInt64

    public init(connectMs: Int, firstByteNs: UInt64, idleNs: UInt64, totalNs: UInt64) {
        self.connectMs = connectMs; self.firstByteNs = firstByteNs; self.idleNs = idleNs; self.totalNs = totalNs
    }
}
