import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The upstream deadlines of a proxied request (SPEC §7.1), as `UpstreamAttempts` enforces them:
/// `first_byte` counted from the end of the request body, `idle` between response body bytes,
/// `total` across every attempt including the retry backoff. A deadline that fires late holds a
/// client and an in-flight slot on a hung upstream; one that fires early cuts a healthy stream.
/// So each edge is checked to the nanosecond on the real objects (config, loop, timers, retry
/// policy, breaker), with only the network peer scripted and time moved by hand: no test sleeps.
@Suite struct UpstreamAttemptsDeadlineTests {
    static let s = UpstreamDeadlineRig.second

    /// `app`: first_byte 10 s, idle 3 s, total 60 s. The retried routes keep those but for
    /// `total`, and retry a GET on a timeout after exactly 4 s (no jitter), then 8 s.
    static let config = #"""
    {"logging": {"level": "error", "access_log": false},
     "upstreams": {"app": {"url": "http://127.0.0.1:9",
                           "timeouts": {"connect": "1s", "first_byte": "10s", "idle": "3s", "total": "60s"}}},
     "routes": [
       {"name": "plain", "match": {"path_prefix": "/plain"}, "upstream": "app"},
       {"name": "retried", "match": {"path_prefix": "/retried"}, "upstream": "app",
        "timeouts": {"total": "20s"},
        "retry": {"attempts": 3, "backoff": "4s", "max_backoff": "8s", "jitter": 0, "on": ["timeout"], "budget_percent": 100}},
       {"name": "retried-tight", "match": {"path_prefix": "/tight"}, "upstream": "app",
        "timeouts": {"total": "12s"},
        "retry": {"attempts": 3, "backoff": "4s", "max_backoff": "8s", "jitter": 0, "on": ["timeout"], "budget_percent": 100}}]}
    """#

    // MARK: first_byte

    @Test func firstByteFiresAtItsDeadlineAndNotOneNanosecondBefore() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("GET", "/plain")

        try rig.moveClock(to: 10 * Self.s - 1)
        #expect(request.handler.endings.isEmpty)
        #expect(try rig.onLoop { !rig.upstream.calls[0].cancelled })

        try rig.moveClock(to: 10 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("first_byte"))
        #expect(try rig.onLoop { rig.upstream.calls.map(\.cancelled) } == [true])
        #expect(rig.timeoutCounts == ["first_byte": 1])
    }

    /// The upload is the client's time: an upload of 18 s (chunks 6 s apart) is no first_byte
    /// timeout, which is counted from the body's end (18 s), not from the start (0 s).
    @Test func firstByteCountsFromTheEndOfTheRequestBody() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("POST", "/plain", streamsBody: true)

        try rig.moveClock(to: 6 * Self.s)
        try rig.onLoop { request.upload("a") }
        try rig.moveClock(to: 12 * Self.s)
        try rig.onLoop { request.upload("b") }
        try rig.moveClock(to: 18 * Self.s)
        try rig.onLoop { request.attempts.endBody() }

        try rig.moveClock(to: 28 * Self.s - 1)
        #expect(request.handler.endings.isEmpty)
        try rig.moveClock(to: 28 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("first_byte"))
        #expect(try rig.onLoop { rig.upstream.calls.map { String(decoding: $0.bodyReceived, as: UTF8.self) } } == ["ab"])
        #expect(try rig.onLoop { rig.upstream.calls.map(\.bodyEnded) } == [true])
        #expect(rig.timeoutCounts == ["first_byte": 1])
    }

    /// A client that pauses its upload spends its own time (its body timeout covers a stall):
    /// a pause three times first_byte long ends nothing, and first_byte counts from the end.
    @Test func aPauseInTheUploadIsTheClientsTimeNotFirstByte() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("POST", "/plain", streamsBody: true)
        try rig.moveClock(to: 1 * Self.s)
        try rig.onLoop { request.upload("a") }
        try rig.moveClock(to: 40 * Self.s)
        #expect(request.handler.endings.isEmpty, "a 39 s pause mid-upload is not the upstream's")
        try rig.onLoop { request.attempts.endBody() }
        try rig.moveClock(to: 50 * Self.s - 1)
        #expect(request.handler.endings.isEmpty)
        try rig.moveClock(to: 50 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("first_byte"))
        #expect(rig.timeoutCounts == ["first_byte": 1])
    }

    /// An upstream that stops reading the request body is held to the idle limit from the moment
    /// it stopped; reading again lifts it.
    @Test func anUpstreamThatStopsReadingTheBodyIsHeldToIdle() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("POST", "/plain", streamsBody: true)
        try rig.moveClock(to: 1 * Self.s)
        try rig.onLoop { rig.upstream.calls[0].takesBody = false; request.upload("a") }
        try rig.moveClock(to: 2 * Self.s)
        try rig.onLoop { rig.upstream.calls[0].resumeTakingBody() }
        try rig.moveClock(to: 20 * Self.s)
        #expect(request.handler.endings.isEmpty, "it read again at 2 s: the client's pause follows")
        try rig.onLoop { rig.upstream.calls[0].takesBody = false; request.upload("b") }
        try rig.moveClock(to: 23 * Self.s - 1)
        #expect(request.handler.endings.isEmpty)
        try rig.moveClock(to: 23 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("idle"))
        #expect(try rig.onLoop { rig.upstream.calls.map(\.cancelled) } == [true])
        #expect(rig.timeoutCounts == ["idle": 1])
    }

    // MARK: idle

    /// Once the head arrived the idle limit (3 s) applies, even though it ends before the
    /// first_byte deadline (10 s) the timer was armed for.
    @Test func idleReplacesFirstByteOnceTheHeadArrives() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("GET", "/plain")
        try rig.moveClock(to: 2 * Self.s)
        try rig.onLoop { rig.upstream.calls[0].sendHead(status: 200) }

        try rig.moveClock(to: 5 * Self.s - 1)
        #expect(request.handler.events == [.head(status: 200)])
        try rig.moveClock(to: 5 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("idle"))
        #expect(rig.timeoutCounts == ["idle": 1])
    }

    @Test func bodyBytesMoveTheIdleDeadline() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("GET", "/plain")
        try rig.moveClock(to: 1 * Self.s)
        try rig.onLoop { rig.upstream.calls[0].sendHead(status: 200) }
        for at in [3_500_000_000, 6_000_000_000, 8_500_000_000] as [UInt64] {   // 2.5 s apart: under idle
            try rig.moveClock(to: at)
            try rig.onLoop { rig.upstream.calls[0].sendBody("data: x\n\n") }
        }

        try rig.moveClock(to: 11_500_000_000 - 1)   // the last byte came at 8.5 s
        #expect(request.handler.endings.isEmpty)
        try rig.moveClock(to: 11_500_000_000)
        #expect(try request.handler.awaitEnding() == .timeout("idle"))
        #expect(request.handler.events.filter { $0 == .body(bytes: 9) }.count == 3)
        #expect(rig.timeoutCounts == ["idle": 1])
    }

    // MARK: total

    /// A stream that never goes idle (a byte every 2 s) still ends at `total` (60 s), although
    /// its last byte (58 s) would keep the idle deadline until 61 s.
    @Test func totalWinsOverIdleOnASteadyStream() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("GET", "/plain")
        try rig.moveClock(to: 1 * Self.s)
        try rig.onLoop { rig.upstream.calls[0].sendHead(status: 200) }
        for second in stride(from: 2 as UInt64, through: 58, by: 2) {
            try rig.moveClock(to: second * Self.s)
            try rig.onLoop { rig.upstream.calls[0].sendBody("x") }
        }

        try rig.moveClock(to: 60 * Self.s - 1)
        #expect(request.handler.endings.isEmpty)
        try rig.moveClock(to: 60 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("total"))
        #expect(try rig.onLoop { rig.upstream.calls.map(\.cancelled) } == [true])
        #expect(rig.timeoutCounts == ["total": 1])
    }

    /// `/retried`, total 20 s: the first attempt times out at 10 s, the retry starts after its
    /// 4 s backoff (14 s), and the total deadline cuts it at 20 s, before its own first_byte (24 s).
    @Test func totalCountsEveryAttemptAndTheBackoffBetween() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("GET", "/retried")

        try rig.moveClock(to: 10 * Self.s)
        #expect(request.handler.endings.isEmpty)   // retried, not failed
        #expect(rig.retryCount == 1)
        try rig.moveClock(to: 14 * Self.s - 1)
        #expect(try rig.onLoop { rig.upstream.calls.map(\.cancelled) } == [true])   // still in the backoff
        try rig.moveClock(to: 14 * Self.s)
        #expect(try rig.onLoop { rig.upstream.calls.map(\.cancelled) } == [true, false])

        try rig.moveClock(to: 20 * Self.s - 1)
        #expect(request.handler.endings.isEmpty)
        try rig.moveClock(to: 20 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("total"))
        #expect(try rig.onLoop { rig.upstream.calls.map(\.cancelled) } == [true, true])
        #expect(rig.timeoutCounts == ["first_byte": 1, "total": 1])
    }

    /// The backoff fitted when the retry was decided, but the loop comes back only after the total
    /// deadline (here: the clock jumps from 10 s to 21 s, past the retry at 14 s and the total at
    /// 20 s). No attempt starts after the total deadline; the request ends with `total`, once.
    @Test func aRetryDueAfterTheTotalDeadlineEndsWithTotal() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("GET", "/retried")
        try rig.moveClock(to: 10 * Self.s)
        #expect(rig.retryCount == 1)

        try rig.moveClock(to: 21 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("total"))
        #expect(request.handler.endings.count == 1)
        #expect(try rig.onLoop { rig.upstream.calls.count } == 1)
        #expect(rig.timeoutCounts == ["first_byte": 1, "total": 1])
    }

    /// `/tight`, total 12 s: when first_byte fires at 10 s, a 4 s backoff cannot fit in the 2 s
    /// left, so no retry is scheduled (`RetrySchedule`: total time exhausted) and the attempt's own
    /// `first_byte` ends the request at once, rather than holding the client until 12 s for nothing.
    @Test func aBackoffThatCannotFitInTheTotalIsNotTaken() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        let request = try rig.startProxied("GET", "/tight")

        try rig.moveClock(to: 10 * Self.s - 1)
        #expect(request.handler.endings.isEmpty)
        try rig.moveClock(to: 10 * Self.s)
        #expect(try request.handler.awaitEnding() == .timeout("first_byte"))
        #expect(rig.retryCount == 0)
        #expect(try rig.onLoop { rig.upstream.calls.count } == 1)
        #expect(rig.timeoutCounts == ["first_byte": 1])
    }
}

/// One proxied request's upstream side: the real `UpstreamAttempts`, with the recording handler
/// where its `ProxyExchange` would be. Used on the rig's loop only.
struct ProxiedRequestUnderTest {
    let attempts: UpstreamAttempts
    let handler: RecordingUpstreamHandler

    /// The client sends `text` as request body bytes (as `ProxyExchange.requestBody` passes them on).
    func upload(_ text: String) { _ = Array(text.utf8).withUnsafeBytes { attempts.appendBody($0) } }
}

extension UpstreamDeadlineRig {
    /// Starts the upstream side of `method path` now, on the loop, as `ProxyExchange` does: the
    /// breaker and in-flight admission, the first attempt streaming the client's body, and (for
    /// a request without one) the end of the body right after.
    func startProxied(_ method: String, _ path: String, streamsBody: Bool = false) throws -> ProxiedRequestUnderTest {
        let started: ProxiedRequestUnderTest? = try onLoop { [self] in
            let active = context.active
            guard let hit = active.routes.match(method: method, path: path) else { return nil }
            let plan = active.plans[hit.index]
            let head = HTTPRequestHead(method: method, target: path, framing: streamsBody ? .chunked : .none)
            let ctx = RequestContext(head: head, plan: plan, config: active.config, requestID: "deadline-test",
                                     peerIP: [127, 0, 0, 1], peerText: "127.0.0.1", server: context)
            let handler = RecordingUpstreamHandler()
            let attempts = UpstreamAttempts(for: ctx, client: SilentClientStream(), started: loop.now, handler: handler)
            guard attempts.admit() == nil else { return nil }
            attempts.start(body: nil)
            if !streamsBody { attempts.endBody() }
            return ProxiedRequestUnderTest(attempts: attempts, handler: handler)
        }
        guard let started else { throw RigFailure("\(method) \(path): no route, or not admitted") }
        return started
    }
}
