import RampartHTTP
import RampartLoop
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
        request.upstream.usesNativeClient ? native.start(request, handler: handler) : curl.start(request, handler: handler)
    }
}

extension UpstreamConfig {
    /// Plain http with the default transport goes through Rampart's own HTTP/1.1 client.
    var usesNativeClient: Bool { scheme == "http" && transport == .auto }
}
