import RampartHTTP
import RampartLoop
import RampartTransport
/// What every request on one route shares, resolved once per config: the route, its upstream,
/// the headers section it answers with, its body limit, its breaker and its filters. A request
/// holds one reference to its plan instead of copying these structs (each copy retains every
/// field of each, per request).
public final class RoutePlan: Sendable {
    public let route: RouteConfig
    /// Its place in the config's routes (and `ActiveConfig.plans`).
    public let index: Int
    public let upstream: UpstreamConfig
    public let headers: HeadersConfig
    public let bodyLimit: Int
    /// The breaker guarding the route's traffic: the upstream's, or the route's own.
    public let breakerName: String
    /// The route's filters (`RoutePolicies.build`).
    let filters: FilterChain
    /// The route's timeouts on the loop's clock (Duration's arithmetic is too slow to redo for
    /// every request).
    public let deadlines: CallDeadlines
    /// Where a `stream_save` route's saves and verify GETs go (nil on other routes).
    /// Rampart reads this route's response bodies (usage, terminal events, saves), so the upstream
    /// is asked not to compress them (`Accept-Encoding: identity`).
    let readsResponseBodies: Bool
    /// A request's body is kept for a retry or a save template's `{body.…}` (else it is never copied).
    let keepsRequestBody: Bool
    package let saveTarget: SaveTarget?
    package let verifyTarget: SaveTarget?

    init(route: RouteConfig, index: Int, upstream: UpstreamConfig, config: GatewayConfig, filters: FilterChain) {
        self.route = route; self.index = index
        self.upstream = upstream
        headers = route.headers ?? config.headers
        bodyLimit = route.bodyLimit ?? config.server.limits.bodyBytes
        breakerName = route.breakerName
        deadlines = CallDeadlines(route.timeouts)
        readsResponseBodies = route.format != nil || route.streamSave != nil || route.quotas.contains { $0.unit == .tokens }
        keepsRequestBody = (route.retry?.attempts ?? 1) > 1 || route.streamSave != nil
        let saves = route.streamSave != nil
        saveTarget = saves ? SaveTarget(upstream: route.saveUpstream, route: route, config: config) : nil
        verifyTarget = saves ? SaveTarget(upstream: route.verifyUpstream, route: route, config: config) : nil
        self.filters = filters
    }
}

extension CallDeadlines {
    /// A route's timeouts as the loop's clock counts them (Duration's arithmetic is too slow to
    /// redo for every request).
    package init(_ t: TimeoutsConfig) {
        self.init(connectMs: t.connect.milliseconds, firstByteNs: t.firstByte.nanoseconds, idleNs: t.idle.nanoseconds,
                  totalNs: t.total.nanoseconds)
    }
}
