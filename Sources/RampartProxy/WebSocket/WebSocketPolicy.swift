import COpenSSL
import Foundation
import RampartHTTP
import RampartLoop
import Synchronization

/// Cross-site WebSocket hijacking (a page on another site opening a socket with the user's
/// cookies) is refused before any upgrade: a browser's `Origin` must be the route's own or one it
/// allows. Clients that send no `Origin` (servers, SDKs, CLIs) are not browsers and pass. Runs
/// first, so a refused origin spends no quota.
struct WebSocketOrigin: RouteFilter {
    var phases: FilterPhases { .requestHead }
    /// `websocket.allow_origins`, else the route's CORS origins, else none (same origin only).
    let allowOrigins: [String]

    func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        guard ctx.isWebSocket, let origin = ctx.head.headers["Origin"] else { done(.proceed); return }
        if allowOrigins.contains("*") || allowOrigins.contains(origin) || CORSPolicy.isSameOrigin(origin, host: ctx.head.headers["Host"]) {
            done(.proceed); return
        }
        ctx.server.state.metrics.webSockets.refused(route: ctx.route.name, reason: "origin")
        done(.reject(GatewayError(status: 403, code: "FORBIDDEN", message: "WebSocket connections from the origin \(origin) are not allowed.")))
    }
}

/// `max_per_user`: open sockets per caller on the route, counted across every loop. Runs after
/// identity and quotas, so the caller is known and a refused socket still counted as a request.
struct WebSocketSessions: RouteFilter {
    var phases: FilterPhases { [.requestHead, .end] }
    let limit: Int

    func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        guard ctx.isWebSocket else { done(.proceed); return }
        let key = ctx.route.name + "\u{0}" + ctx.identityKey
        guard let slot = ctx.server.state.webSockets.open(key, limit: limit) else {
            ctx.server.state.metrics.webSockets.refused(route: ctx.route.name, reason: "max_per_user")
            done(.reject(GatewayError(status: 429, code: "RATE_LIMITED",
                                      message: "Too many open WebSocket connections for this caller on this route (limit \(limit)).")))
            return
        }
        ctx.webSocketSlot = slot
        done(.proceed)
    }

    func exchangeEnded(_ ctx: RequestContext) {
        ctx.webSocketSlot?.release()
        ctx.webSocketSlot = nil
    }
}

/// The open sockets per route and caller, shared by every loop (one lock, taken at a socket's
/// open and close only).
public final class WebSocketRegistry: Sendable {
    private let counts = Lock<[String: Int]>([:])
    public init() {}

    func open(_ key: String, limit: Int) -> WebSocketSlot? {
        let ok = counts.withLock { c -> Bool in
            let n = c[key, default: 0]
            guard n < limit else { return false }
            c[key] = n + 1
            return true
        }
        return ok ? WebSocketSlot(registry: self, key: key) : nil
    }

    fileprivate func close(_ key: String) {
        counts.withLock { c in
            let n = c[key, default: 1] - 1
            if n <= 0 { c.removeValue(forKey: key) } else { c[key] = n }
        }
    }
}

/// One socket's place in its caller's count, given back once when the exchange ends.
final class WebSocketSlot {
    private let registry: WebSocketRegistry
    private let key: String
    private var held = true
    init(registry: WebSocketRegistry, key: String) { self.registry = registry; self.key = key }
    func release() {
        guard held else { return }
        held = false
        registry.close(key)
    }
    deinit { release() }
}

extension WebSocketHandshake {
    /// `Sec-WebSocket-Accept` for a client's key (§4.2.2): base64(SHA-1(key + GUID)). Rampart
    /// checks the upstream's answer with it, so a client never gets a 101 its own check would fail.
    static func accept(for key: String) -> String {
        let input = Array((key + acceptGUID).utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        var size: UInt32 = 0
        _ = EVP_Digest(input, input.count, &digest, &size, EVP_sha1(), nil)
        return Data(digest).base64EncodedString()
    }
}
