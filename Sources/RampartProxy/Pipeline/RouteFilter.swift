import RampartHTTP
import RampartLoop
import RampartTransport

/// One policy on a route, and the one seam every policy uses. A filter may take part in each part
/// of a request's life (Envoy's decode/encode filter, Pingora's phases): the request head (decide,
/// possibly after waiting on a store), the request body as it streams or whole (validate,
/// rewrite), the response (through the `ResponseFilter` it makes for one response: head, body
/// chunks, SSE events, how the exchange ended) and the end of the exchange. Built once per config
/// and shared by the route's requests: per-request state lives in the response filter it makes,
/// or for the request half in the `RequestContext` field it owns.
protocol RouteFilter: Sendable {
    /// The parts this filter takes part in; the chain calls it for those only.
    var phases: FilterPhases { get }
    /// Decides from the head; calls `done` exactly once, on the request's loop.
    func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void)
    /// A run of the client's body as it streams to the upstream (the body is not held).
    func requestChunk(_ bytes: UnsafeRawBufferPointer, _ ctx: RequestContext)
    /// The whole body, read before the upstream sees it: pass it on (rewritten or not), refuse it,
    /// or answer. Calls `done` exactly once, on the request's loop.
    func requestBody(_ body: [UInt8], _ ctx: RequestContext, _ done: @escaping (BodyVerdict) -> Void)
    /// Whether this request's body must be read whole for this filter (idempotency: only with a key).
    func readsBody(_ ctx: RequestContext) -> Bool
    /// Makes this request's response filter, or nil when it has nothing to do with this response
    /// (so a plain 200 allocates nothing).
    func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter?
    /// The exchange ended, however it ended: let go of what the filter holds for the request.
    func exchangeEnded(_ ctx: RequestContext)
}

struct FilterPhases: OptionSet, Sendable {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }
    package static let requestHead = FilterPhases(rawValue: 1)
    static let requestChunks = FilterPhases(rawValue: 2)
    /// Reads the whole body first: the chain buffers it (up to the route's body limit).
    package static let requestBody = FilterPhases(rawValue: 4)
    package static let response = FilterPhases(rawValue: 8)
    package static let end = FilterPhases(rawValue: 16)
}

extension RouteFilter {
    package func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) { done(.proceed) }
    func requestChunk(_ bytes: UnsafeRawBufferPointer, _ ctx: RequestContext) {}
    package func requestBody(_ body: [UInt8], _ ctx: RequestContext, _ done: @escaping (BodyVerdict) -> Void) { done(.proceed(body)) }
    func readsBody(_ ctx: RequestContext) -> Bool { true }
    package func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? { nil }
    func exchangeEnded(_ ctx: RequestContext) {}
}

/// A filter that reads the whole body and rewrites or refuses it at once, without waiting on
/// anything (validation, truncation): it writes `transform`, the chain's phase comes with it.
protocol BodyTransform: RouteFilter {
    func transform(_ body: [UInt8], _ ctx: RequestContext) -> Result<[UInt8], GatewayError>
}

extension BodyTransform {
    var phases: FilterPhases { .requestBody }
    func requestBody(_ body: [UInt8], _ ctx: RequestContext, _ done: @escaping (BodyVerdict) -> Void) {
        switch transform(body, ctx) {
        case .success(let next): done(.proceed(next))
        case .failure(let error): done(.reject(error))
        }
    }
}

/// What a filter decides from the request head.
public enum PolicyVerdict {
    case proceed
    case reject(GatewayError)
    /// Rampart answers itself with a success (a CORS preflight, say).
    case answer(status: Int, headers: [HTTPField])
}

/// What a filter decides from the whole request body.
enum BodyVerdict {
    /// Go on with this body (the same bytes, or rewritten).
    case proceed([UInt8])
    case reject(GatewayError)
    /// Answer with a response kept earlier (an idempotent replay).
    case replay(StoredResponse)
}

/// A route's filters in their order, and the same list split by phase so the hot path visits
/// only the filters a phase has.
final class FilterChain: Sendable {
    package let filters: [any RouteFilter]
    package let requestHead: [any RouteFilter]
    let requestChunks: [any RouteFilter]
    package let requestBody: [any RouteFilter]
    package let response: [any RouteFilter]
    package let end: [any RouteFilter]

    package init(_ filters: [any RouteFilter]) {
        self.filters = filters
        requestHead = filters.filter { $0.phases.contains(.requestHead) }
        requestChunks = filters.filter { $0.phases.contains(.requestChunks) }
        requestBody = filters.filter { $0.phases.contains(.requestBody) }
        response = filters.filter { $0.phases.contains(.response) }
        end = filters.filter { $0.phases.contains(.end) }
    }
}

extension FilterChain {
    /// Asks the request-head filters in order; `done` hears the first verdict other than
    /// `.proceed`, or `.proceed` when all passed. A filter answering after the exchange ended
    /// (a store round trip outlived the client) stops the run. The last filter answers `done`
    /// itself, which ignores an exchange that has ended (no closure made for that step).
    func runRequestHead(_ ctx: RequestContext, from i: Int = 0, _ done: @escaping (PolicyVerdict) -> Void) {
        if i == requestHead.count { done(.proceed); return }
        if i == requestHead.count - 1 { requestHead[i].requestHead(ctx, done); return }
        requestHead[i].requestHead(ctx) { [self] verdict in
            if ctx.ended { return }
            if case .proceed = verdict { runRequestHead(ctx, from: i + 1, done) } else { done(verdict) }
        }
    }

    /// Passes the whole body through the body filters in order, each seeing what the last made.
    func runRequestBody(_ body: [UInt8], _ ctx: RequestContext, from i: Int = 0, _ done: @escaping (BodyVerdict) -> Void) {
        if i == requestBody.count { done(.proceed(body)); return }
        requestBody[i].requestBody(body, ctx) { [self] verdict in
            if ctx.ended { return }
            if case .proceed(let next) = verdict { runRequestBody(next, ctx, from: i + 1, done) } else { done(verdict) }
        }
    }
}
