import Foundation

/// Server-sent events over a chunked response: one event per chunk, so each event leaves the app
/// as its own write and a proxy's buffering (or lack of it) is observable.
struct SSEWriter {
    let res: ResponseWriter

    /// Sends the SSE headers; nil for HEAD or a vanished client.
    static func start(_ res: ResponseWriter) -> SSEWriter? {
        let headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
        return res.startChunked(200, headers: headers) ? SSEWriter(res: res) : nil
    }

    func send(event: String?, data: String) -> Bool {
        var text = ""
        if let event { text += "event: \(event)\n" }
        text += "data: \(data)\n\n"
        return res.write(Array(text.utf8))
    }

    func send(event: String?, data: JSON) -> Bool { send(event: event, data: data.text) }
}

/// Plain test streams: timed ticks, idle gaps and externally stepped events.
enum DemoStreams {
    /// `GET /sse?events=N&gap_ms=G`: N `tick` events, G ms apart.
    static func ticks(_ req: Request, _ res: ResponseWriter) {
        let events = req.queryInt("events", default: 5, in: 0...1_000_000)
        let gap = req.queryInt("gap_ms", default: 100, in: 0...600_000)
        guard let sse = SSEWriter.start(res), events > 0 else { return }
        for n in 1...events {
            if n > 1 { res.pause(ms: gap) }
            guard sse.send(event: "tick", data: ["n": .int(n)]) else { return }
        }
    }

    /// `GET /slow/stream?gap_ms=G&events=E`: headers and the first event at once, then one event per
    /// G ms — for idle timeouts that must fire mid-stream, not before headers.
    static func slowStream(_ req: Request, _ res: ResponseWriter) {
        let events = req.queryInt("events", default: 5, in: 1...1_000_000)
        let gap = req.queryInt("gap_ms", default: 2000, in: 0...3_600_000)
        guard let sse = SSEWriter.start(res) else { return }
        for n in 1...events {
            if n > 1 { res.pause(ms: gap) }
            guard sse.send(event: "tick", data: ["n": .int(n)]) else { return }
        }
    }

    /// `GET /sse/stepped?id=X&events=N`: event 1 at once, each next one only after
    /// `POST /_demo/step?id=X`; the Nth event is `done`. Proves per-event forwarding without timing
    /// assumptions. Gives up (ending the stream cleanly) after 60 s without a step.
    static func stepped(_ req: Request, _ res: ResponseWriter) {
        let id = req.query["id"] ?? "default"
        let events = req.queryInt("events", default: 3, in: 1...1_000_000)
        defer { demoState.endStepped(id: id) }
        guard let sse = SSEWriter.start(res) else { return }
        for n in 1...events {
            if n > 1 {
                guard demoState.waitForStep(id: id, until: Date().addingTimeInterval(60)) else { return }
            }
            let last = n == events
            let data: JSON = last ? ["n": .int(n), "id": .string(id), "done": true] : ["n": .int(n), "id": .string(id)]
            guard sse.send(event: last ? "done" : "tick", data: data) else { return }
        }
    }
}
