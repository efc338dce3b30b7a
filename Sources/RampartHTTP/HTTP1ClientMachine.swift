// The protocol state of one request/response on an HTTP/1.1 client connection, without I/O
// (after SwiftNIO's HTTP1ConnectionStateMachine): the shell feeds it events (connected, bytes
// queued or sent, bytes received, EOF, a deadline) and performs the single action each returns.
// Nothing here reads a clock or touches a socket, so every path is testable with plain bytes.

public struct HTTP1ClientMachine: Sendable {
    /// Request bytes kept for one replay on a fresh connection (a pooled connection may turn out dead).
    public static let replayLimit = 64 * 1024
    /// Response body is handed out in slices of at most this, so a pause takes effect soon.
    public static let deliverSlice = 64 * 1024
    /// Unsent request bytes at which the client is paused, and half of it at which it resumes.
    public static let uploadHighWatermark = 256 * 1024
    public static let uploadLowWatermark = uploadHighWatermark / 2

    /// How the request body is framed: none, Content-Length, or chunked when the length is unknown.
    public enum RequestBody: Sendable, Equatable { case none, known(Int), streamed }

    public enum State: Sendable {
        /// No connection yet (pool lookup pending, or between a dead pooled one and its retry).
        case idle
        /// A name lookup or TCP connect is under way; the request waits, the deadline runs.
        case connecting(deadline: UInt64)
        /// Connected: the request is going out, the final response head is not complete yet.
        /// `receivedAny` decides whether a broken connection may still be retried.
        case awaitingHead(receivedAny: Bool)
        /// The final head went to the handler; the body is being read.
        case body(BodyState)
        case complete
        /// Failed, or cancelled by the shell.
        case failed
    }

    /// Where the response body ends.
    public enum BodyState: Sendable {
        case contentLength(remaining: Int)
        case chunked(ChunkedDecoder)
        /// The upstream's close ends it (no reuse).
        case untilClose
    }

    /// The request side: still taking body (and whether the client is paused), or complete.
    public enum Upload: Sendable, Equatable { case streaming(blocked: Bool), ended }

    /// Which connection the request is on; only a pooled one may be replaced, and only once.
    public enum Connection: Sendable, Equatable { case fresh, pooled, retry }

    public enum Failure: Error, Sendable, Equatable {
        case connectFailed(String)
        case connectTimeout
        case reset(String)
        /// The response cannot be relayed as it came (a 502 before the head, a cut after it).
        case invalidResponse(UpstreamResponseError)
    }

    /// What the shell does next with its input buffer (`readResponse`) or after a broken send.
    public enum ResponseAction: Sendable, Equatable {
        /// Consume `consumed` bytes, then wait for more input (or for `resumeReading`).
        case needMore(consumed: Int)
        /// Consume `consumed` bytes and hand the final head to the handler.
        case head(HTTPResponseHead, consumed: Int)
        /// Hand `input[range]` to the handler, then consume `range.upperBound` bytes.
        case body(Range<Int>)
        /// The response is complete: consume, then pool the connection when `reusable`, else close it.
        case complete(consumed: Int, reusable: Bool)
        /// The upstream switched protocols (a requested upgrade): the connection, with the input
        /// past `consumed`, now belongs to the tunnel.
        case upgraded(HTTPResponseHead, consumed: Int)
        /// Close this connection; send the whole request again on a fresh one.
        case retryOnFreshConnection
        case fail(Failure)
    }

    /// How the shell queues request body bytes.
    public enum BodyFrame: Sendable, Equatable {
        /// Nothing to send (empty, or the exchange is over).
        case skip
        /// The bytes as they are. `acceptMore` false: pause the client until `sent` says otherwise.
        case raw(acceptMore: Bool)
        /// The chunk header the machine wrote, the bytes, then `ChunkedEncoder.chunkTrailer`.
        case chunk(acceptMore: Bool)
    }

    public enum BodyEnd: Sendable, Equatable { case nothing, ended, lastChunk }

    public enum DeadlineAction: Sendable, Equatable { case none, fail(Failure) }

    public internal(set) var state: State = .idle
    public internal(set) var upload: Upload
    public internal(set) var connection: Connection = .fresh
    /// The handler asked for a pause; no body is handed out until `resumeReading`.
    public internal(set) var readPaused = false
    /// The upstream closed its side; reported once buffered input runs out.
    public internal(set) var peerClosed = false
    /// Request bytes queued but not yet written (mirrors the shell's output buffer).
    public internal(set) var unsent = 0
    /// Request bytes queued in total, head included.
    public internal(set) var requestBytes = 0
    /// Whether the final response allows another request on the connection.
    var keepAlive = false
    let method: String
    let body: RequestBody
    /// The request asks to switch protocols (a WebSocket handshake): a 101 is its answer.
    public var upgrade = false

    public init(method: String, body: RequestBody) {
        self.method = method
        self.body = body
        upload = body == .none ? .ended : .streaming(blocked: false)
    }

    public var isFinished: Bool {
        switch state {
        case .complete, .failed: return true
        default: return false
        }
    }

    /// Connected and not finished: queued request bytes may be written.
    public var canSend: Bool {
        switch state {
        case .awaitingHead, .body: return true
        default: return false
        }
    }

    public var connectDeadline: UInt64? {
        if case .connecting(let d) = state { return d }
        return nil
    }

    /// Whether the shell should keep a copy of request bytes it queues: the whole request may
    /// still have to be replayed, and it is small enough. False stays false.
    public var keepsReplayCopy: Bool {
        guard requestBytes <= Self.replayLimit, connection != .retry else { return false }
        switch state {
        case .idle, .connecting, .awaitingHead: return true
        default: return false
        }
    }

    // MARK: Connection

    /// A lookup or TCP connect starts; the deadline is set once, so it also covers a lookup
    /// followed by a connect. Returns the instant at which to call `deadlineReached`.
    public mutating func startConnecting(now: UInt64, timeoutNs: UInt64) -> UInt64 {
        if case .connecting(let d) = state { return d }
        let d = now &+ timeoutNs
        state = .connecting(deadline: d)
        return d
    }

    /// The connection is usable: a fresh one finished connecting, or a pooled one was taken.
    public mutating func connected(reused: Bool) {
        switch state {
        case .idle, .connecting: state = .awaitingHead(receivedAny: false)
        default: return
        }
        if reused && connection == .fresh { connection = .pooled }
    }

    /// The shell's timer fired (or any time): past the deadline while still connecting is a failure.
    public mutating func deadlineReached(now: UInt64) -> DeadlineAction {
        guard case .connecting(let d) = state, now >= d else { return .none }
        state = .failed
        return .fail(.connectTimeout)
    }

    /// Resolution or connect failed.
    public mutating func connectFailed(_ why: String) -> Failure {
        state = .failed
        return .connectFailed(why)
    }

    /// Writing failed: the connection is broken. A pooled connection that broke before any
    /// response byte is the race with the server's idle timeout, so the request goes again once.
    public mutating func sendFailed(_ why: String) -> ResponseAction {
        retryOrFail(.reset(why))
    }

    /// Ends the exchange without an outcome for the handler.
    public mutating func cancel() {
        if !isFinished { state = .failed }
    }

    mutating func retryOrFail(_ failure: Failure) -> ResponseAction {
        if case .awaitingHead(receivedAny: false) = state, connection == .pooled, upload == .ended,
            requestBytes <= Self.replayLimit {
            connection = .retry
            state = .idle
            unsent = requestBytes
            // The dead connection's end of stream and pause belong to it, not to the fresh one.
            peerClosed = false
            readPaused = false
            return .retryOnFreshConnection
        }
        state = .failed
        return .fail(failure)
    }

    // MARK: Request

    /// Appends the request head, with the framing header for the body, to `h`.
    public mutating func encodeHead(target: String, headers: HTTPHeaders, into h: inout [UInt8]) {
        let fields = ForwardedRequestFields(headers)
        let bound = headSizeBound(target: target, fields: fields)
        let start = h.count
        h.append(contentsOf: repeatElement(0, count: bound))
        let n = h.withUnsafeMutableBufferPointer { encodeHead(target: target, fields: fields, at: $0.baseAddress! + start) }
        h.removeLast(bound - n)
    }

    /// The most bytes `encodeHead(target:fields:at:)` writes for this request.
    public func headSizeBound(target: String, fields: ForwardedRequestFields) -> Int {
        Self.headSizeBound(method: method, target: target, fields: fields)
    }

    /// The same, for a shell that keeps the machine in a class: reading the machine there to call
    /// a method on it would copy it whole.
    public static func headSizeBound(method: String, target: String, fields: ForwardedRequestFields) -> Int {
        method.utf8.count + 1 + target.utf8.count + Self.versionCRLF.utf8CodeUnitCount + fields.lineBytes
            + Self.longestFraming + 20 + 4
    }

    /// Writes the request head, with the framing header for the body, at `start`, which has room
    /// for `headSizeBound`: straight into the socket's buffer, no array on the way. Returns its size.
    public mutating func encodeHead(target: String, fields: ForwardedRequestFields, at start: UnsafeMutablePointer<UInt8>) -> Int {
        let n = writeHead(target: target, fields: fields, at: start)
        queued(n)
        return n
    }

    /// The same head again, not counted: a replay on a fresh connection re-encodes the head
    /// instead of keeping a copy of it (`retryOnFreshConnection` counts the replay).
    public func writeHead(target: String, fields: ForwardedRequestFields, at start: UnsafeMutablePointer<UInt8>) -> Int {
        var p = Self.put(method, at: start); p[0] = SP; p += 1
        p = Self.put(target, at: p)
        p = putLiteral(Self.versionCRLF, at: p)
        p = fields.writeLines(to: p)
        switch body {
        case .none: break
        case .known(let n):
            p = putLiteral("Content-Length: ", at: p)
            p = writeDecimal(UInt(n), at: p)
            p[0] = CR; p[1] = LF; p += 2
        case .streamed: p = putLiteral("Transfer-Encoding: chunked\r\n", at: p)
        }
        p[0] = CR; p[1] = LF; p += 2
        return p - start
    }

    static let longestFraming = "Transfer-Encoding: chunked\r\n".utf8.count

    @inline(__always)
    static func put(_ s: String, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        HTTPHeaders.withBytes(s) { b in
            if let src = b.baseAddress { copyShortBytes(p, src, b.count) }
            return p + b.count
        }
    }

    static let versionCRLF: StaticString = " HTTP/1.1\r\n"

    /// Frames `count` body bytes the client sent; for a chunked upload writes the chunk header
    /// into `chunkHeader` (replacing its contents). Counts everything as queued.
    public mutating func frameBody(count: Int, chunkHeader: inout [UInt8]) -> BodyFrame {
        guard count > 0, case .streaming = upload, !isFinished else { return .skip }
        var added = count
        let chunked = body == .streamed
        if chunked {
            chunkHeader.removeAll(keepingCapacity: true)
            ChunkedEncoder.chunkHeader(size: count, into: &chunkHeader)
            added += chunkHeader.count + ChunkedEncoder.chunkTrailer.count
        }
        queued(added)
        let more = unsent < Self.uploadHighWatermark
        if !more { upload = .streaming(blocked: true) }
        return chunked ? .chunk(acceptMore: more) : .raw(acceptMore: more)
    }

    /// The client's body ended; `.lastChunk`: queue `ChunkedEncoder.lastChunk`.
    public mutating func endBody() -> BodyEnd {
        guard case .streaming = upload, !isFinished else { return .nothing }
        upload = .ended
        guard body == .streamed else { return .ended }
        queued(ChunkedEncoder.lastChunk.count)
        return .lastChunk
    }

    /// The shell wrote `n` queued bytes. True: the client was paused and the backlog fell below
    /// the low watermark, so ask it for more.
    public mutating func sent(_ n: Int) -> Bool {
        unsent -= n
        guard case .streaming(blocked: true) = upload, unsent < Self.uploadLowWatermark else { return false }
        upload = .streaming(blocked: false)
        return true
    }

    mutating func queued(_ n: Int) {
        requestBytes += n
        unsent += n
    }

    // MARK: Download backpressure

    /// The handler refused more body: hand out nothing until `resumeReading`.
    public mutating func pauseReading() { readPaused = true }

    /// True when reading was paused and the exchange goes on: the shell reads and processes again.
    public mutating func resumeReading() -> Bool {
        guard readPaused, !isFinished else { return false }
        readPaused = false
        return true
    }

    /// The upstream closed (read returned 0 or failed). Buffered bytes are still processed first.
    public mutating func receivedEOF() { peerClosed = true }
}
