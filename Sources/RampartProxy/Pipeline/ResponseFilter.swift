import RampartHTTP
import RampartLoop
import RampartTransport

/// How an exchange ended, as response filters hear it.
enum ExchangeEnding: Equatable {
    /// The response reached its end (an upstream error status included).
    case complete
    /// Rampart ended it early: an upstream failure or timeout, the drain deadline.
    case cut(String)
    /// The client went away first.
    case clientGone
}

/// What a filter decides about the upstream's response head.
enum HeadVerdict {
    case pass
    /// Keep the response from the client: its body comes to this filter alone, which answers
    /// through `ResponseTail.replaceResponse` (Envoy's `sendLocalReply`). Error scrubbing does this.
    case intercept
}

/// The response half of a `RouteFilter`. It sees the upstream's response head and every body chunk
/// as it passes to the client (the core never buffers for it), then how the exchange ended. One
/// instance per response, made by its route filter when the response head arrives, so it owns its
/// per-request state.
protocol ResponseFilter: AnyObject {
    func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict
    func responseBody(_ bytes: UnsafeRawBufferPointer)
    /// The response is an event stream and this filter asked for its events (`wantsEvents`): each
    /// complete SSE event as it passes, parsed once by the core for every filter that asks.
    var wantsEvents: Bool { get }
    func responseEvent(_ event: SSEEvent)
    /// The largest event it needs whole; the one parser keeps the largest any listener asks for,
    /// and skips bigger events rather than buffer them.
    var maxEventBytes: Int { get }
    /// The stream ended with an event its blank line never closed: a client's SDK drops it (and a
    /// save keeps what the client saw), but accounting counts it (a usage chunk whose last line
    /// got lost). Called once, at the exchange's end, with nil when there was none.
    func responseEventsEnded(unterminated: SSEEvent?)
    /// The upstream's body ended (nil) or failed, while this filter intercepts the response.
    func interceptedBodyEnded(_ failure: UpstreamFailure?)
    func completed(_ ending: ExchangeEnding)

    /// True when this filter changes the bytes the client gets (at most one per response: the
    /// first that asks). Every filter still sees the upstream's bytes as they came.
    var editsBody: Bool { get }
    /// What the client gets in place of `bytes` (empty while it holds bytes back).
    func editBody(_ bytes: UnsafeRawBufferPointer) -> [UInt8]

    /// True when this filter holds the end of the response: when the upstream's body ends or is
    /// cut (`responseEnded`), it adds to the response and finishes it through its `ResponseTail`
    /// (a confirmed save sends `save_status` once the app has stored the text).
    var holdsEnd: Bool { get }
    func responseEnded(clean: Bool, cutError: String?)
    /// While it holds the end: whether it goes on after the client left (`continue_on_disconnect`).
    var continuesWithoutClient: Bool { get }
    /// Shutdown's deadline came while it holds the end.
    func drainDeadlineReached()
    /// What it adds to the access line (`save`), as JSON.
    var accessLogSave: String? { get }
}

extension ResponseFilter {
    var wantsEvents: Bool { false }
    func responseEvent(_ event: SSEEvent) {}
    var maxEventBytes: Int { UsageTap.maxEventBytes }
    func responseEventsEnded(unterminated: SSEEvent?) {}
    func interceptedBodyEnded(_ failure: UpstreamFailure?) {}
    var editsBody: Bool { false }
    func editBody(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { Array(bytes) }
    var holdsEnd: Bool { false }
    package func responseEnded(clean: Bool, cutError: String?) {}
    var continuesWithoutClient: Bool { false }
    package func drainDeadlineReached() {}
    var accessLogSave: String? { nil }
}
