import RampartHTTP

/// How an exchange ended, as response filters hear it.
enum ExchangeEnding: Equatable {
    /// The response reached its end (an upstream error status included).
    case complete
    /// Rampart ended it early: an upstream failure or timeout, the drain deadline.
    case cut(String)
    /// The client went away first.
    case clientGone
}

/// The response half of a policy. It sees the upstream's response head and every body chunk as
/// it passes to the client (the core never buffers for it), then how the exchange ended. One
/// instance per request, made by the route's chain, so it owns its per-request state.
protocol ResponseFilter: AnyObject {
    func responseHead(status: Int, headers: HTTPHeaders)
    func responseBody(_ bytes: UnsafeRawBufferPointer)
    func completed(_ ending: ExchangeEnding)
}

/// Makes a route's response filter for one request (nil when it has nothing to do for it).
/// Built once per config into the route's chain (`RoutePolicies.build`), like the request stages.
protocol ResponseFilterMaker: Sendable {
    func make(for ctx: RequestContext) -> ResponseFilter?
}
