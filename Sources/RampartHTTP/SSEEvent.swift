/// One dispatched server-sent event, as an EventSource would deliver it.
public struct SSEEvent: Sendable, Equatable {
    /// Event type; "message" when the stream gave none.
    public var event: String
    /// Data lines joined with "\n".
    public var data: String
    /// Last event ID in effect (it persists across events per WHATWG); nil when empty.
    public var id: String?
    /// Reconnection time from a `retry:` field seen since the previous dispatch.
    public var retry: Int?

    public init(event: String = "message", data: String, id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }
}
