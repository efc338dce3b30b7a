import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The same deadlines for the calls made outside a proxied exchange (a save, a verify GET, a
/// replay), as `DeadlineCall` enforces them: `first_byte` from the end of the request body, `idle`
/// between body bytes, `total` from the call's start. A save that never times out holds its
/// stream's confirmation (and the client waiting for it) on a hung app forever. Checked to the
/// nanosecond on the real loop and timers with a hand-moved clock, only the app scripted.
@Suite struct DeadlineCallTests {
    static let s = UpstreamDeadlineRig.second

    /// The `app` upstream's timeouts: first_byte 10 s, idle 3 s, total 60 s (saves go through
    /// its first route, `plain`).
    static let config = UpstreamAttemptsDeadlineTests.config

    /// A save as `ConfirmedSave` makes one: through `SaveTarget.start`, its body sent whole.
    @Test func aSavesFirstByteFiresAtItsDeadlineAndNotOneNanosecondBefore() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let handler = try rig.startSave(body: #"{"content":"chapter"}"#)
        #expect(try rig.onLoop { rig.upstream.calls.map(\.bodyEnded) } == [true])

        try rig.moveClock(to: 10 * Self.s - 1)
        #expect(handler.endings.isEmpty)
        #expect(try rig.onLoop { !rig.upstream.calls[0].cancelled })
        try rig.moveClock(to: 10 * Self.s)
        #expect(try handler.awaitEnding() == .timeout("first_byte"))
        #expect(try rig.onLoop { rig.upstream.calls.map(\.cancelled) } == [true])
    }

    /// The body ends 8 s after the call started: first_byte runs from there (18 s), not from 0.
    @Test func firstByteCountsFromTheEndOfTheRequestBody() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let (call, handler) = try rig.startDeadlineCall()
        try rig.moveClock(to: 4 * Self.s)
        try rig.onLoop { _ = Array("part".utf8).withUnsafeBytes { call.appendBody($0) } }
        try rig.moveClock(to: 8 * Self.s)
        try rig.onLoop { call.endBody() }

        try rig.moveClock(to: 18 * Self.s - 1)
        #expect(handler.endings.isEmpty)
        try rig.moveClock(to: 18 * Self.s)
        #expect(try handler.awaitEnding() == .timeout("first_byte"))
    }

    /// Once the head arrived (2 s) the idle limit applies: 3 s later (5 s), although the timer
    /// was first armed for the first_byte deadline (10 s).
    @Test func idleReplacesFirstByteOnceTheHeadArrives() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let handler = try rig.startSave(body: "{}")
        try rig.moveClock(to: 2 * Self.s)
        try rig.onLoop { rig.upstream.calls[0].sendHead(status: 200) }

        try rig.moveClock(to: 5 * Self.s - 1)
        #expect(handler.events == [.head(status: 200)])
        try rig.moveClock(to: 5 * Self.s)
        #expect(try handler.awaitEnding() == .timeout("idle"))
    }

    @Test func bodyBytesMoveTheIdleDeadline() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let handler = try rig.startSave(body: "{}")
        try rig.moveClock(to: 1 * Self.s)
        try rig.onLoop { rig.upstream.calls[0].sendHead(status: 200) }
        for at in [3_500_000_000, 6_000_000_000, 8_500_000_000] as [UInt64] {   // 2.5 s apart: under idle
            try rig.moveClock(to: at)
            try rig.onLoop { rig.upstream.calls[0].sendBody("ok") }
        }

        try rig.moveClock(to: 11_500_000_000 - 1)   // the last byte came at 8.5 s
        #expect(handler.endings.isEmpty)
        try rig.moveClock(to: 11_500_000_000)
        #expect(try handler.awaitEnding() == .timeout("idle"))
        #expect(handler.events.filter { $0 == .body(bytes: 2) }.count == 3)
    }

    /// A reply that trickles a byte every 2 s never goes idle, and still ends at `total` (60 s).
    @Test func totalWinsOverIdleOnASteadyReply() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let handler = try rig.startSave(body: "{}")
        try rig.moveClock(to: 1 * Self.s)
        try rig.onLoop { rig.upstream.calls[0].sendHead(status: 200) }
        for second in stride(from: 2 as UInt64, through: 58, by: 2) {
            try rig.moveClock(to: second * Self.s)
            try rig.onLoop { rig.upstream.calls[0].sendBody("x") }
        }

        try rig.moveClock(to: 60 * Self.s - 1)
        #expect(handler.endings.isEmpty)
        try rig.moveClock(to: 60 * Self.s)
        #expect(try handler.awaitEnding() == .timeout("total"))
        #expect(try rig.onLoop { rig.upstream.calls.map(\.cancelled) } == [true])
    }

    /// A call that completed leaves no timer behind: nothing reaches its handler afterwards.
    @Test func aCompletedCallHearsNoDeadline() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let handler = try rig.startSave(body: "{}")
        try rig.moveClock(to: 1 * Self.s)
        try rig.onLoop { let peer = rig.upstream.calls[0]; peer.sendHead(status: 204); peer.finish() }
        #expect(try handler.awaitEnding() == nil)

        try rig.moveClock(to: 61 * Self.s)
        #expect(handler.endings.count == 1)
    }
}

extension UpstreamDeadlineRig {
    /// The `plain` route's save target, as a `stream_save` route resolves it for its own upstream.
    private var saveTarget: SaveTarget {
        get throws {
            let config = state.current.config
            guard let route = config.routes.first, let target = SaveTarget(upstream: route.upstream, route: route, config: config) else {
                throw RigFailure("the config has no route with an upstream")
            }
            return target
        }
    }

    /// Starts a save (`PUT /api/save`, `body` whole) now, on the loop, as `ConfirmedSave` does.
    func startSave(body: String) throws -> RecordingUpstreamHandler {
        let target = try saveTarget
        return try onLoop { [self] in
            let handler = RecordingUpstreamHandler()
            let bytes = Array(body.utf8)
            let request = target.request(method: "PUT", path: "/api/save", headers: HTTPHeaders(), bodyLength: bytes.count)
            _ = target.start(request, body: bytes, handler: handler, transport: upstream, loop: loop)
            return handler
        }
    }

    /// Starts a `DeadlineCall` under the save target's deadlines whose body the test sends and ends.
    func startDeadlineCall() throws -> (DeadlineCall, RecordingUpstreamHandler) {
        let target = try saveTarget
        return try onLoop { [self] in
            let handler = RecordingUpstreamHandler()
            let request = target.request(method: "POST", path: "/api/replay", headers: HTTPHeaders(), bodyLength: 4)
            let call = DeadlineCall.start(request, handler: handler, transport: upstream, loop: loop, deadlines: target.deadlines)
            return (call, handler)
        }
    }
}
