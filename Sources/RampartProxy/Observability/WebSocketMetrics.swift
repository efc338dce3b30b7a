import RampartLoop
import Synchronization

/// The WebSocket metrics of SPEC §11.6, process-wide: sessions are long and their counts change
/// per read batch and per session, not per request, so one lock serves every loop.
public final class WebSocketMetrics: Sendable {
    struct Key: Hashable { var route: String; var label: String }
    struct State {
        var opened: [String: Int] = [:]
        var closed: [Key: Int] = [:]         // label = close code
        var refused: [Key: Int] = [:]        // label = reason
        var frames: [Key: Int] = [:]         // label = direction
        var bytes: [Key: Int] = [:]
        var seconds: [String: (sum: Double, count: Int)] = [:]
    }
    public let open = Atomic<Int>(0)
    private let state = Lock<State>(State())

    func opened(route: String) {
        open.add(1, ordering: .relaxed)
        state.withLock { $0.opened[route, default: 0] += 1 }
    }

    func closed(route: String, code: UInt16, seconds: Double) {
        open.subtract(1, ordering: .relaxed)
        state.withLock {
            $0.closed[Key(route: route, label: String(code)), default: 0] += 1
            let s = $0.seconds[route] ?? (0, 0)
            $0.seconds[route] = (s.sum + seconds, s.count + 1)
        }
    }

    func refused(route: String, reason: String) {
        state.withLock { $0.refused[Key(route: route, label: reason), default: 0] += 1 }
    }

    /// Frames and bytes relayed in one direction ("client_to_upstream" or "upstream_to_client").
    func relayed(route: String, direction: String, frames: Int, bytes: Int) {
        guard frames > 0 || bytes > 0 else { return }
        state.withLock {
            let k = Key(route: route, label: direction)
            $0.frames[k, default: 0] += frames
            $0.bytes[k, default: 0] += bytes
        }
    }

    func render(into out: inout String) {
        let s = state.withLock { $0 }
        let esc = Metrics.labelValue
        func header(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        func keyed(_ name: String, _ label: String, _ map: [Key: Int]) {
            for (k, v) in map.sorted(by: { ($0.key.route, $0.key.label) < ($1.key.route, $1.key.label) }) {
                out += "\(name){route=\"\(esc(k.route))\",\(label)=\"\(esc(k.label))\"} \(v)\n"
            }
        }
        header("rampart_websocket_open", "gauge", "WebSocket sessions open now.")
        out += "rampart_websocket_open \(open.load(ordering: .relaxed))\n"
        header("rampart_websocket_opened_total", "counter", "WebSocket sessions opened (101 relayed), by route.")
        for (k, v) in s.opened.sorted(by: { $0.key < $1.key }) { out += "rampart_websocket_opened_total{route=\"\(esc(k))\"} \(v)\n" }
        header("rampart_websocket_closed_total", "counter", "WebSocket sessions closed, by route and close code (1006: no close frame).")
        keyed("rampart_websocket_closed_total", "code", s.closed)
        header("rampart_websocket_refused_total", "counter", "WebSocket handshakes refused by Rampart, by route and reason (origin, max_per_user).")
        keyed("rampart_websocket_refused_total", "reason", s.refused)
        header("rampart_websocket_frames_total", "counter", "WebSocket frames relayed, by route and direction.")
        keyed("rampart_websocket_frames_total", "direction", s.frames)
        header("rampart_websocket_bytes_total", "counter", "WebSocket bytes relayed (frame headers included), by route and direction.")
        keyed("rampart_websocket_bytes_total", "direction", s.bytes)
        header("rampart_websocket_session_seconds", "summary", "WebSocket session length, by route.")
        for (k, v) in s.seconds.sorted(by: { $0.key < $1.key }) {
            out += "rampart_websocket_session_seconds_sum{route=\"\(esc(k))\"} \(v.sum)\n"
            out += "rampart_websocket_session_seconds_count{route=\"\(esc(k))\"} \(v.count)\n"
        }
    }
}
