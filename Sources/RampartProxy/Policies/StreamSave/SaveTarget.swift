import RampartHTTP
import RampartLoop
import RampartTransport

/// Where a save, a verify GET or a replay is sent (SPEC §11.5): an upstream with its endpoint
/// (TLS included) and base path, and the deadlines that bound the call. On the route's own
/// upstream the route's timeouts apply, as for its traffic; another upstream (the app next to an
/// LLM provider) is bounded by its own, since the route's are sized for the provider.
package struct SaveTarget: Sendable {
    package let upstream: UpstreamConfig
    package let deadlines: CallDeadlines

    /// nil when `name` is not an upstream of `config` (an old journal entry after a reload).
    package init?(upstream name: String, route: RouteConfig, config: GatewayConfig) {
        guard let upstream = config.upstreams[name] else { return nil }
        self.upstream = upstream
        deadlines = CallDeadlines(name == route.upstream ? route.timeouts : upstream.timeouts)
    }

    /// The Host a save carries: the client's for an app next door (as proxied requests do), the
    /// upstream's own name over TLS (SNI and virtual hosting), as `ForwardingHeaders` decides.
    package func host(clientHost: String?) -> String {
        upstream.scheme == "https" ? upstream.authority : clientHost ?? upstream.authority
    }

    /// A request to `path` on this upstream (its base path prefixed), within its connect timeout.
    package func request(method: String, path: String, headers: HTTPHeaders, bodyLength: Int?) -> UpstreamRequest {
        UpstreamRequest(endpoint: upstream.endpoint, method: method, target: upstream.basePath + path, headers: headers,
                        body: bodyLength.map { .known($0) } ?? .none, connectTimeoutMs: deadlines.connectMs)
    }

    /// Starts the call under this target's deadlines and sends `body` whole.
    package func start(_ request: UpstreamRequest, body: [UInt8]?, handler: UpstreamResponseHandler,
                       transport: UpstreamTransport, loop: EventLoop) -> DeadlineCall {
        let call = DeadlineCall.start(request, handler: handler, transport: transport, loop: loop, deadlines: deadlines)
        if let body { _ = body.withUnsafeBytes { call.appendBody($0) } }
        call.endBody()
        return call
    }
}
