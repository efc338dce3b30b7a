/// The protocol state of one HTTP/1.1 server connection, with no I/O: the connection's shell feeds
/// it received bytes, readings of the loop's clock and the exchange's response calls, and performs
/// what it answers (SwiftNIO's and Hummingbird 2's shape). Requests are answered in order: the next
/// pipelined head is parsed only after the current response ended. One deadline runs at a time.
/// Unread body bytes are discarded by a lingering close, so the kernel never resets a response.
///
/// Room to grow: `State.tunnel` carries the bytes after a `101 Switching Protocols` (WebSocket);
/// multiplexed streams (HTTP/2) get a machine of their own behind the same shell, chosen by ALPN
/// or the connection preface, each stream then one `ClientStream` (RampartTransport) and so one
/// exchange to the layers above, as this machine's current request is.
public struct HTTP1ServerMachine: Sendable {
    public struct Settings: Sendable {
        public var limits: HTTPLimits
        public var headerTimeoutNs: UInt64
        public var bodyTimeoutNs: UInt64
        public var keepaliveTimeoutNs: UInt64
        /// How long a closing connection drains unread request bytes before it gives up.
        public var lingerNs: UInt64 = 2_000_000_000
        /// Pipelined bytes accepted while a response is pending before reading stops.
        public var maxPipelinedBytes = 64 * 1024
        /// Queued response bytes above which the producer pauses, and below which it resumes.
        public var highWatermark = 256 * 1024
        public var lowWatermark = 64 * 1024

        public init(limits: HTTPLimits, headerTimeoutNs: UInt64, bodyTimeoutNs: UInt64, keepaliveTimeoutNs: UInt64) {
            self.limits = limits
            self.headerTimeoutNs = headerTimeoutNs
            self.bodyTimeoutNs = bodyTimeoutNs
            self.keepaliveTimeoutNs = keepaliveTimeoutNs
        }
    }

    public enum State: Sendable, Equatable {
        case awaitingHead, readingBody, awaitingResponse
        /// After a `101 Switching Protocols` response: bytes pass both ways unparsed.
        case tunnel
        /// Closing with unread request bytes: half-closed, reading and dropping them.
        case lingering
        case closed
    }

    public enum Deadline: Sendable, Equatable { case none, head, idle, body, linger }
    public enum ResponseFraming: Sendable, Equatable { case none, identity, chunked, closeDelimited }

    /// How the current request's body is read.
    enum BodyReader: Sendable { case none, length(Int), chunked(ChunkedDecoder) }

    public let settings: Settings
    public internal(set) var state = State.awaitingHead
    /// The request being answered (nil between requests).
    public internal(set) var request: HTTPRequestHead?
    var body = BodyReader.none
    public internal(set) var readingPaused = false
    public internal(set) var responseStarted = false
    public internal(set) var responseEnded = false
    public internal(set) var responseFraming = ResponseFraming.none
    /// Body bytes an identity-framed response still owes the client.
    public internal(set) var bodyRemaining = 0
    public internal(set) var keepAlive = true
    /// The shell closes the connection once its send buffer is empty.
    public internal(set) var closeAfterFlush = false
    public internal(set) var draining = false
    /// A connection accepted but not yet asked anything still gets its one request during a drain.
    public internal(set) var hasServedARequest = false
    /// The producer was told to pause (backpressure toward the client).
    public internal(set) var waitingForWritable = false
    public internal(set) var deadline = Deadline.none
    /// When `deadline` falls due, on the clock the shell passes in (nanoseconds).
    public internal(set) var deadlineAt: UInt64 = 0

    public init(settings: Settings, now: UInt64) {
        self.settings = settings
        setDeadline(.head, at: now &+ settings.headerTimeoutNs)
    }

    mutating func setDeadline(_ kind: Deadline, at instant: UInt64) {
        deadline = kind
        deadlineAt = instant
    }

    // MARK: Reading

    /// What the shell does with the bytes it holds; it calls `read` again until `.needMore`.
    public enum ReadAction {
        /// Nothing to do until more bytes arrive, reading resumes or the response ends.
        case needMore
        /// A request begins: consume `consumed` bytes and hand the head to the service.
        case head(HTTPRequestHead, consumed: Int)
        /// Hand `input[range]` to the exchange and consume through `range.upperBound`; when `last`,
        /// the body has ended. The range may be empty (framing only).
        case body(Range<Int>, last: Bool)
        /// Bytes through an open tunnel.
        case tunnel(Range<Int>)
        /// The head is malformed or too large: answer with the error and close.
        case rejectHead(HTTPParseError)
        /// The chunked body is malformed: the exchange is gone, answer with the error and close.
        case rejectBody(HTTPParseError)
    }

    public mutating func read(_ input: UnsafeRawBufferPointer, now: UInt64) -> ReadAction {
        switch state {
        case .awaitingHead:
            if input.isEmpty { return .needMore }
            if deadline != .head { setDeadline(.head, at: now &+ settings.headerTimeoutNs) }
            switch HTTPRequestParser.parseHead(input, limits: settings.limits) {
            case .incomplete: return .needMore
            case .failure(let e): return .rejectHead(e)
            case .complete(let head, let consumed):
                begin(head, now: now)
                return .head(head, consumed: consumed)
            }
        case .readingBody:
            // Answered before the body was read (an early error): stop; the close discards it.
            if responseEnded { state = .awaitingResponse; return .needMore }
            if readingPaused || input.isEmpty { return .needMore }
            return readBody(input, now: now)
        case .tunnel:
            if readingPaused || input.isEmpty { return .needMore }
            return .tunnel(0..<input.count)
        case .awaitingResponse, .lingering, .closed:
            return .needMore
        }
    }

    private mutating func begin(_ head: HTTPRequestHead, now: UInt64) {
        request = head
        hasServedARequest = true
        keepAlive = head.keepAlive && !draining
        responseStarted = false; responseEnded = false; waitingForWritable = false; readingPaused = false
        switch head.framing {
        case .none: body = .none
        case .contentLength(let n): body = n > 0 ? .length(n) : .none
        case .chunked: body = .chunked(ChunkedDecoder())
        }
        if case .none = body {
            state = .awaitingResponse
            deadline = .none
        } else {
            state = .readingBody
            setDeadline(.body, at: now &+ settings.bodyTimeoutNs)
        }
    }

    private mutating func readBody(_ input: UnsafeRawBufferPointer, now: UInt64) -> ReadAction {
        switch body {
        case .none:
            return lastBody(0..<0)
        case .length(let remaining):
            let take = min(remaining, input.count)
            if take == remaining { return lastBody(0..<take) }
            body = .length(remaining - take)
            setDeadline(.body, at: now &+ settings.bodyTimeoutNs)
            return .body(0..<take, last: false)
        case .chunked(var decoder):
            let step = decoder.next(input)
            body = .chunked(decoder)
            switch step {
            case .data(let range):
                setDeadline(.body, at: now &+ settings.bodyTimeoutNs)
                return .body(range, last: false)
            case .needMore(let consumed):
                setDeadline(.body, at: now &+ settings.bodyTimeoutNs)
                return .body(consumed..<consumed, last: false)
            case .finished(let consumed):
                return lastBody(consumed..<consumed)
            case .failure(let e):
                return .rejectBody(e)
            }
        }
    }

    /// The body's last bytes (maybe none): the request then waits for its response.
    private mutating func lastBody(_ range: Range<Int>) -> ReadAction {
        body = .none
        deadline = .none
        state = .awaitingResponse
        return .body(range, last: true)
    }

    /// Whether the shell should read from the socket now.
    public func wantsToRead(buffered: Int) -> Bool {
        switch state {
        case .awaitingHead: return !draining || buffered > 0 || !hasServedARequest
        case .readingBody, .tunnel: return !readingPaused
        case .awaitingResponse: return buffered < settings.maxPipelinedBytes
        case .lingering: return true
        case .closed: return false
        }
    }

    /// Upload backpressure: the exchange stops the reading while its upstream cannot take more.
    public mutating func pauseReading() { readingPaused = true }

    /// Returns whether reading was paused (the shell then reads what it holds).
    public mutating func resumeReading() -> Bool {
        guard readingPaused else { return false }
        readingPaused = false
        return true
    }

    /// `100 Continue` is due: the client asked, the body has not started and no answer is out yet.
    public func continueDue(buffered: Int) -> Bool {
        request?.expectsContinue == true && state == .readingBody && !responseStarted && buffered == 0
    }

    /// Between requests with nothing buffered: a drain may close it.
    public func isIdle(buffered: Int) -> Bool { state == .awaitingHead && buffered == 0 }
}
