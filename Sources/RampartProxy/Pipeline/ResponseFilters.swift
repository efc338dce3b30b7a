import RampartHTTP
import RampartTransport

/// The route's response filters for one response, in order, and the roles they took: at most one
/// intercepts the response (error scrubbing), at most one holds its end (a confirmed save), and
/// those that want an event stream's events hear them from the one parser kept here. Empty (and
/// allocation-free) for a route without response filters.
struct ResponseFilters {
    private(set) var all: [any ResponseFilter] = []
    /// Keeps the upstream's response from the client; its body goes to this filter alone.
    private(set) var interceptor: ResponseFilter?
    private(set) var endHolder: ResponseFilter?
    /// Changes what the client gets (a usage chunk it did not ask for is taken out).
    private var editor: ResponseFilter?
    private var eventListeners: [any ResponseFilter] = []
    private var eventParser: SSEParser?
    /// No filter took part in this response.
    var isEmpty: Bool { all.isEmpty }

    /// Makes each filter's per-response half for `head`, in the route's order. Answers true when
    /// one of them intercepts the response; the filters after it never see it.
    mutating func start(_ chain: [any RouteFilter], ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> Bool {
        guard !chain.isEmpty else { return false }
        all = chain.compactMap { $0.response(for: ctx, head: head, tail: tail) }
        for f in all where f.responseHead(status: head.status, headers: head.headers) == .intercept {
            interceptor = f
            return true
        }
        endHolder = all.first { $0.holdsEnd }
        editor = all.first { $0.editsBody }
        return false
    }

    /// The response is an event stream: one parser, bounded by the largest event a listener needs.
    mutating func listenForEvents() {
        eventListeners = all.filter { $0.wantsEvents }
        if let bound = eventListeners.map(\.maxEventBytes).max() { eventParser = SSEParser(maxEventBytes: bound) }
    }

    /// A chunk on its way to the client: every filter sees it, the listeners its complete events.
    /// Answers what the client gets instead when a filter edits the body (nil: the chunk itself).
    mutating func body(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        for f in all { f.responseBody(bytes) }
        if var parser = eventParser {
            eventParser = nil   // one parse of the stream for every filter that asks
            parser.feed(bytes) { event in for f in eventListeners { f.responseEvent(event) } }
            eventParser = parser
        }
        return editor?.editBody(bytes)
    }

    /// A chunk the interceptor keeps from the client. One that holds the response to send it later
    /// (a JSON answer waiting for its save) lets every filter see it, as it would have seen it
    /// pass: usage is counted and an idempotent answer stored from it.
    mutating func interceptedBody(_ bytes: UnsafeRawBufferPointer) {
        guard let interceptor else { return }
        if interceptor.holdsEnd { _ = body(bytes) } else { interceptor.responseBody(bytes) }
    }

    /// The exchange is over. An event its last blank line never closed (WHATWG drops it) goes to
    /// the listeners that count rather than show (`responseEventsEnded`); a cut-off line just
    /// fails to parse there. Then each filter hears how it ended, once.
    mutating func end(_ ending: ExchangeEnding) {
        if var parser = eventParser {
            eventParser = nil
            var last: SSEEvent?
            parser.feed([0x0A, 0x0A]) { last = $0 }
            for f in eventListeners { f.responseEventsEnded(unterminated: last) }
        }
        for f in all { f.completed(ending) }
        all = []
    }
}
