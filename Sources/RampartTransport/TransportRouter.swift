import RampartHTTP
import RampartLoop
/// Picks the transport for each upstream: the native HTTP/1.1 client for plain http (speed),
/// libcurl for https and HTTP/2 (TLS, ALPN, everything else), or libcurl when configured. A
/// WebSocket handshake always takes the native client: it needs the raw connection after the 101.
package final class TransportRouter: UpstreamTransport {
    private let native: HTTP1Transport
    private let curl: CurlTransport

    package init(loop: EventLoop) {
        native = HTTP1Transport(loop: loop)
        curl = CurlTransport(loop: loop)
    }

    package func start(_ request: UpstreamRequest, handler: UpstreamResponseHandler) -> UpstreamCall {
        request.endpoint.usesNativeClient || request.upgrade ? native.start(request, handler: handler) : curl.start(request, handler: handler)
    }
}
