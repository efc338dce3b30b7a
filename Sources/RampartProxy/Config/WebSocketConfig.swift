/// A route's WebSocket settings (SPEC §11.6): `"websocket": true` takes every default.
public struct WebSocketConfig: Sendable, Equatable {
    /// Browser origins allowed to open a socket; nil: the route's `headers.cors.allow_origins`,
    /// and without CORS, the same origin only (cross-site WebSocket hijacking is refused).
    public var allowOrigins: [String]?
    /// The largest message (all its fragments), either way; larger closes with 1009.
    public var maxMessageBytes = 1_048_576
    /// A side silent this long (no frame, not even a pong) closes the session with 1001.
    public var idle: Duration = .seconds(60)
    /// A side silent this long gets a ping from Rampart, so a live peer always answers before `idle`.
    public var pingInterval: Duration = .seconds(20)
    /// The longest session; then it closes with 1008 and the client reconnects (new credentials, quotas).
    public var maxSession: Duration = .seconds(3600)
    /// Open sockets per user (or per client address when anonymous) on this route.
    public var maxPerUser = 16

    public init() {}
}
