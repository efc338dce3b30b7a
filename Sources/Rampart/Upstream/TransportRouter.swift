/// Picks the transport for each upstream: the native HTTP/1.1 client for plain http (speed),
/// libcurl for https and HTTP/2 (TLS, ALPN, everything else), or libcurl when configured.
final class TransportRouter: UpstreamTransport {
    private let native: HTTP1Transport
    private let curl: CurlTransport

    init(loop: EventLoop) {
        native = HTTP1Transport(loop: loop)
        curl = CurlTransport(loop: loop)
    }

    func start(_ request: UpstreamRequest, handler: UpstreamResponseHandler) -> UpstreamCall {
        // The native client connects to addresses, not names (getaddrinfo would block the loop);
        // libcurl resolves host names on its own resolver threads.
        if request.upstream.scheme == "http" && request.upstream.transport == .auto && request.upstream.hostIsAddress {
            return native.start(request, handler: handler)
        }
        return curl.start(request, handler: handler)
    }
}

extension UpstreamConfig {
    /// An IPv4/IPv6 literal or localhost: something to connect to without a DNS lookup.
    var hostIsAddress: Bool { host == "localhost" || Socket.parseIP(host) != nil }
}
