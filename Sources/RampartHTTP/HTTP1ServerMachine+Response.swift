/// The response half of the connection's state machine, and its deadlines and closing.
extension HTTP1ServerMachine {
    // MARK: Response

    /// Chooses the response's framing from its status, the method and the client's version, and
    /// sets its connection headers. False: nothing may be sent (closed, or a head already went out).
    /// `shuttingDown`: the process drains, so every response asks the client to reconnect elsewhere.
    public mutating func responseHead(_ head: inout HTTPResponseHead, shuttingDown: Bool) -> Bool {
        guard state != .closed, !responseStarted else { return false }
        responseStarted = true
        if head.status == 101 {
            // The tunnel's bytes pass as they are, and the connection ends with the tunnel.
            responseFraming = .closeDelimited
            keepAlive = false
            state = .tunnel
            deadline = .none
            return true
        }
        connectionEdits(status: head.status, fields: FramingFields(head.headers), shuttingDown: shuttingDown).apply(to: &head.headers)
        head.versionMinor = 1
        return true
    }

    /// The same for a proxied head the connection writes in one pass (`ForwardedResponseHead`,
    /// never a 1xx): the edits come back to be made as it is written. nil: nothing may be sent.
    public mutating func forwardedHead(status: Int, fields: FramingFields, shuttingDown: Bool) -> HeadEdits? {
        guard state != .closed, !responseStarted else { return nil }
        responseStarted = true
        return connectionEdits(status: status, fields: fields, shuttingDown: shuttingDown)
    }

    /// What a response head's framing and connection fields become: the framing rules below,
    /// then `Connection: close` when the connection will not be reused (and `keep-alive` for an
    /// HTTP/1.0 client when it will).
    mutating func connectionEdits(status: Int, fields: FramingFields, shuttingDown: Bool) -> HeadEdits {
        var edits = frame(status: status, fields: fields)
        // Answering before the body arrived (an early error) is only safe if the connection is not reused.
        if state == .readingBody && !closeAfterFlush { keepAlive = false }
        if draining || shuttingDown { keepAlive = false }
        if !keepAlive { edits.connection = .close }
        else if request?.versionMinor == 0 { edits.connection = .keepAlive }
        return edits
    }

    /// The framing rules for what the client is sent, whoever made the head: no body on 1xx, 204,
    /// 304 or HEAD, and no length on 1xx, 204 or 304; one valid Content-Length is honoured byte for
    /// byte; anything else (none, several, malformed) is dropped and the body re-framed: chunked
    /// for HTTP/1.1, ended by the close for HTTP/1.0. A Transfer-Encoding is always Rampart's own.
    mutating func frame(status: Int, fields: FramingFields) -> HeadEdits {
        let method = request?.method
        var edits = HeadEdits()
        bodyRemaining = 0
        if ResponseFramingRules.isBodiless(status: status, requestMethod: method) {
            responseFraming = .none
            guard !fields.isEmpty else { return edits }
            edits.dropTransferEncoding = true
            edits.dropContentLength = ResponseFramingRules.forbidsLength(status: status) || fields.length == nil
            return edits
        }
        edits.dropTransferEncoding = fields.transferEncodingCount > 0
        if fields.contentLengthCount == 1, let n = fields.length {
            responseFraming = .identity
            bodyRemaining = n
            return edits
        }
        edits.dropContentLength = fields.contentLengthCount > 0
        if (request?.versionMinor ?? 1) >= 1 {
            edits.addChunked = true
            responseFraming = .chunked
        } else {
            responseFraming = .closeDelimited
            keepAlive = false
        }
        return edits
    }

    /// How many of `count` body bytes go out: none on a bodiless response, and never more than a
    /// declared length has left (the excess is dropped and the connection closes after this
    /// response, since the client would read those bytes as the next one).
    public mutating func admitBody(_ count: Int) -> Int {
        switch responseFraming {
        case .none: return 0
        case .chunked, .closeDelimited: return count
        case .identity:
            if count <= bodyRemaining { bodyRemaining -= count; return count }
            let n = bodyRemaining
            bodyRemaining = 0
            keepAlive = false
            return n
        }
    }

    /// Body bytes may be sent now.
    public var canSendBody: Bool { state != .closed && responseStarted && !responseEnded }

    /// After body bytes were queued: false asks the producer to pause until `flushed` says go on.
    public mutating func bodyQueued(buffered: Int) -> Bool {
        if buffered >= settings.highWatermark { waitingForWritable = true; return false }
        return true
    }

    /// After a write to the socket: true when a paused producer may go on.
    public mutating func flushed(buffered: Int) -> Bool {
        guard waitingForWritable, buffered <= settings.lowWatermark else { return false }
        waitingForWritable = false
        return true
    }

    public enum EndAction: Sendable, Equatable {
        /// No response to end (none started, already ended, closed).
        case ignored
        /// Keep-alive: serve the next request (pipelined bytes first, when the shell holds some).
        case nextRequest
        /// Close once the send buffer is empty.
        case close
    }

    /// The response ended cleanly (the shell has queued a chunked body's last chunk).
    public mutating func endResponse(buffered: Int, now: UInt64) -> EndAction {
        guard state != .closed, responseStarted, !responseEnded else { return .ignored }
        responseEnded = true
        // Short of its declared length, a clean end would leave the client waiting for the rest:
        // the close tells it the message is truncated.
        if responseFraming == .closeDelimited || (responseFraming == .identity && bodyRemaining > 0) { keepAlive = false }
        if keepAlive && state == .awaitingResponse {
            state = .awaitingHead
            request = nil
            // Between requests no response is open: a bad or slow next head gets its 400 or 408.
            responseStarted = false
            responseEnded = false
            if buffered == 0 { setDeadline(.idle, at: now &+ settings.keepaliveTimeoutNs) }
            else { setDeadline(.head, at: now &+ settings.headerTimeoutNs) }
            return .nextRequest
        }
        closeAfterFlush = true
        return .close
    }

    /// A response that cannot be completed (the upstream failed mid-body): the client must see a
    /// truncated message, never a clean end, so the connection closes without a terminating chunk.
    public mutating func abortResponse() -> Bool {
        guard state != .closed else { return false }
        responseEnded = true
        keepAlive = false
        closeAfterFlush = true
        return true
    }

    /// Rampart answers itself and closes (a malformed request, a timeout). False when a response
    /// already started: it was aborted instead.
    public mutating func beginLocalReplyAndClose() -> Bool {
        guard state != .closed else { return false }
        if responseStarted { _ = abortResponse(); return false }
        keepAlive = false
        state = .awaitingResponse
        return true
    }

    // MARK: Deadlines

    public enum DeadlineAction: Sendable, Equatable {
        case none
        /// The deadline moved later since the timer was armed: arm it again for `deadlineAt`.
        case rearm
        case close
        /// The head did not arrive in time (some of it did): 408, then close.
        case headTimedOut
        /// The body did not arrive in time: the exchange is gone, 408, then close.
        case bodyTimedOut
    }

    public mutating func deadlineReached(now: UInt64, buffered: Int) -> DeadlineAction {
        guard deadline != .none, state != .closed else { return .none }
        if now < deadlineAt { return .rearm }
        let kind = deadline
        deadline = .none
        switch kind {
        case .head:
            guard state == .awaitingHead else { return .none }
            return buffered == 0 ? .close : .headTimedOut
        case .body:
            return state == .readingBody ? .bodyTimedOut : .none
        case .idle, .linger:
            return .close
        case .none:
            return .none
        }
    }

    // MARK: Closing

    public enum DrainAction: Sendable, Equatable { case none, close, closeAfterFlush }

    /// Stop reusing this connection; close it now when idle (graceful shutdown). A busy one closes
    /// after its response; one just accepted still gets its one request.
    public mutating func drain(buffered: Int, writePending: Bool) -> DrainAction {
        draining = true
        keepAlive = false
        guard state == .awaitingHead && buffered == 0, hasServedARequest else { return .none }
        return closeWhenWritten(writePending)
    }

    /// The drain deadline passed and no exchange runs here: close now or once written.
    public mutating func shutDown(writePending: Bool) -> DrainAction {
        guard state != .closed else { return .none }
        draining = true
        keepAlive = false
        return closeWhenWritten(writePending)
    }

    /// Marks the drain for a connection whose exchange ends its response itself.
    public mutating func markDraining() {
        draining = true
        keepAlive = false
    }

    private mutating func closeWhenWritten(_ writePending: Bool) -> DrainAction {
        if !writePending { return .close }
        closeAfterFlush = true
        return .closeAfterFlush
    }

    public enum CloseAction: Sendable, Equatable { case linger, close }

    /// Everything is written and the connection closes. Unread request bytes would make the kernel
    /// send RST and destroy the response in flight: half-close and drain them a while instead
    /// (nginx's lingering close).
    public mutating func written(buffered: Int, now: UInt64) -> CloseAction {
        if state == .readingBody || buffered > 0 || request != nil && state != .awaitingHead {
            state = .lingering
            setDeadline(.linger, at: now &+ settings.lingerNs)
            return .linger
        }
        return .close
    }

    public mutating func closed() {
        state = .closed
        deadline = .none
    }
}
