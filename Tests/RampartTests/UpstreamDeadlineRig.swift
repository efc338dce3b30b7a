import Dispatch
import Testing
import Foundation
import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
@testable import Rampart

/// The real gateway objects one loop needs to run an upstream call (a config parsed by the loader,
/// its `ActiveConfig`, a `GatewayState`, a `ServerContext`, an `EventLoop` on its own thread), all
/// reading one `ManualClock`. Only the network peer is scripted (`ScriptedUpstream`), so the
/// deadlines under test run exactly as in production and time moves only when a test moves it.
final class UpstreamDeadlineRig {
    static let second: UInt64 = 1_000_000_000

    let clock = ManualClock()
    let loop: EventLoop
    let state: GatewayState
    let context: ServerContext
    let upstream = ScriptedUpstream()
    /// The clock's monotonic reading when the rig was made: tests name instants as offsets from it.
    let origin: UInt64
    private let loopStopped = DispatchSemaphore(value: 0)

    init(config json: String) throws {
        let config = try ConfigLoader.parse(json: json, environment: [:])
        let active = try ActiveConfig(config, environment: [:])
        // The journal is never written: no test here saves anything.
        state = GatewayState(config: active, configPath: "deadline-rig.json", workerCount: 1, startedAtUnix: clock.now(),
                             journal: FileSaveJournal(directory: NSTemporaryDirectory() + "rampart-deadline-rig"), clock: clock)
        loop = EventLoop(index: 0, clock: clock)
        context = ServerContext(loop: loop, state: state, transport: upstream, quotas: StoreQuotas(memory: nil, redis: nil),
                                idempotency: MemoryIdempotencyStore())
        origin = clock.monotonicNanoseconds()
        let thread = Thread { [loop, loopStopped] in loop.run(); loopStopped.signal() }
        thread.name = "deadline-rig-loop"
        thread.start()
    }

    /// Stops the loop thread and waits for it to leave `run()`.
    func stop() {
        loop.stop()
        if loopStopped.wait(timeout: .now() + 10) != .success { Issue.record("the rig's loop thread did not stop within 10 s") }
    }

    /// Runs `work` on the loop thread (where every object under test lives) and returns its result.
    func onLoop<T>(_ work: @escaping () -> T) throws -> T {
        let handoff = LoopHandoff(work)
        loop.execute { handoff.run() }
        guard handoff.done.wait(timeout: .now() + 10) == .success else { throw RigFailure("the loop did not run the work within 10 s") }
        return handoff.result!
    }

    /// Wakes the loop and waits until it finished one whole iteration after the wake: the
    /// iteration reads the clock, fires every timer due by then, and runs its deferred work.
    func settle() throws {
        let iterationEnded = DispatchSemaphore(value: 0)
        loop.execute { [loop] in loop.deferToEndOfIteration { iterationEnded.signal() } }
        guard iterationEnded.wait(timeout: .now() + 10) == .success else { throw RigFailure("the loop did not finish an iteration within 10 s") }
    }

    /// The clock's monotonic reading now, as an offset from `origin`.
    var elapsed: UInt64 { clock.monotonicNanoseconds() - origin }

    /// Moves the clock forward to `origin + offset` exactly, then lets the loop see it (`settle`).
    func moveClock(to offset: UInt64) throws {
        let now = elapsed
        guard offset >= now else { throw RigFailure("the clock cannot go back from \(now) ns to \(offset) ns") }
        clock.advance(nanoseconds: offset - now)
        try settle()
    }

    /// The gateway's timeout counters (`rampart_timeouts_total` by kind), read from the loop's shard.
    var timeoutCounts: [String: Int] { context.metrics.state.withLock { $0.timeouts } }
    var retryCount: Int { context.metrics.state.withLock { $0.retries.values.reduce(0, +) } }
}

struct RigFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A closure for the loop thread and its result for the waiting test thread; the semaphore
/// orders the write before the read.
private final class LoopHandoff<T>: @unchecked Sendable {
    let work: () -> T
    var result: T?
    let done = DispatchSemaphore(value: 0)
    init(_ work: @escaping () -> T) { self.work = work }
    func run() { result = work(); done.signal() }
}

extension ManualClock {
    /// Moves the monotonic reading forward by exactly `nanoseconds`: `advance(by:)` takes seconds
    /// as a Double, and `seconds * 1e9` may land a nanosecond short of a deadline under test.
    func advance(nanoseconds: UInt64) {
        let target = monotonicNanoseconds() + nanoseconds
        if nanoseconds > 1_000 { advance(by: Double(nanoseconds - 1_000) / 1e9) }   // within 1 ns of the target minus 1 µs
        while monotonicNanoseconds() < target { advance(by: 1e-9) }                  // exactly 1 ns per step
        precondition(monotonicNanoseconds() == target, "ManualClock overshot by \(monotonicNanoseconds() - target) ns")
    }
}

/// The network peer of upstream calls, scripted by the test: it records each call the gateway
/// starts (the request, the body it sent, whether it ended or cancelled it) and answers only when
/// the test delivers a head, body bytes or the end. Loop-confined, like a real transport.
final class ScriptedUpstream: UpstreamTransport {
    private(set) var calls: [Call] = []

    func start(_ request: UpstreamRequest, handler: UpstreamResponseHandler) -> UpstreamCall {
        let call = Call(request: request, handler: handler)
        calls.append(call)
        return call
    }

    final class Call: UpstreamCall {
        let request: UpstreamRequest
        private let handler: UpstreamResponseHandler
        private(set) var bodyReceived: [UInt8] = []
        private(set) var bodyEnded = false
        private(set) var cancelled = false
        /// False: the peer stops reading the request body (the transport answers `.pause`).
        var takesBody = true

        init(request: UpstreamRequest, handler: UpstreamResponseHandler) { self.request = request; self.handler = handler }

        // What the gateway does to the call.
        func appendBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
            bodyReceived.append(contentsOf: bytes)
            return takesBody ? .proceed : .pause
        }
        func endBody() { bodyEnded = true }
        func resumeResponse() {}
        func cancel() { cancelled = true }

        // What the peer sends back.
        func sendHead(status: Int) { handler.upstreamHead(HTTPResponseHead(status: status)) }
        func sendBody(_ text: String) { _ = Array(text.utf8).withUnsafeBytes { handler.upstreamBody($0) } }
        func finish() { handler.upstreamFinished(nil) }
        /// The peer reads the body again: the transport tells the gateway to resume the upload.
        func resumeTakingBody() { takesBody = true; handler.resumeRequestBody() }
    }
}

/// Stands where an exchange (or a save) listens to an upstream call: records what reached it, and
/// signals when the call ended so a test can wait for a deadline with a real-time limit.
final class RecordingUpstreamHandler: UpstreamResponseHandler, @unchecked Sendable {
    enum Event: Equatable {
        case head(status: Int)
        case body(bytes: Int)
        case finished(UpstreamFailure?)
    }

    private let recorded = Lock<[Event]>([])
    private let ended = DispatchSemaphore(value: 0)

    var events: [Event] { recorded.withLock { $0 } }
    /// How the call ended (nil = complete), once per ending heard: empty while it runs.
    var endings: [UpstreamFailure?] {
        events.compactMap { event -> UpstreamFailure?? in
            if case .finished(let failure) = event { return .some(failure) }
            return .none
        }
    }

    /// Waits (10 s of real time at most) until the call ended, and returns how.
    func awaitEnding() throws -> UpstreamFailure? {
        guard ended.wait(timeout: .now() + 10) == .success, let first = endings.first else {
            throw RigFailure("the call did not end within 10 s; it heard \(events)")
        }
        ended.signal()   // a later wait returns at once
        return first
    }

    func upstreamHead(_ head: HTTPResponseHead) { recorded.withLock { $0.append(.head(status: head.status)) } }
    func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        recorded.withLock { $0.append(.body(bytes: bytes.count)) }
        return .proceed
    }
    func resumeRequestBody() {}
    func upstreamFinished(_ failure: UpstreamFailure?) {
        recorded.withLock { $0.append(.finished(failure)) }
        ended.signal()
    }
}

/// The client side of a request as `UpstreamRequest(for:connection:)` reads it (the peer address
/// and TLS, for the forwarding headers). Nothing is answered through it: the tests' handler
/// stands where the exchange would.
class SilentClientStream: ClientStream {
    var requestHead: HTTPRequestHead? { nil }
    var isTLS: Bool { false }
    var acceptsForwardedHead: Bool { false }
    func sendForwardedHead(_ head: consuming ForwardedResponseHead) {}
    var peerIP: [UInt8] { [127, 0, 0, 1] }
    var peerText: String { "127.0.0.1" }
    func sendHead(_ head: HTTPResponseHead) {}
    func sendBody(_ bytes: UnsafeRawBufferPointer) -> Flow { .proceed }
    func endResponse() {}
    func abortResponse() {}
    func pauseRequestBody() {}
    func resumeRequestBody() {}
    func sendContinueIfExpected() {}
}
