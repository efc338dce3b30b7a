/// One direction of a WebSocket relay, with no I/O: bytes in, the same bytes out frame by frame
/// as they pass the parser's checks, and what a gateway needs to know about them (frames, a close
/// frame's code, a whole text message when asked for one). Only a frame header split across
/// reads (at most 13 bytes) and a control frame's payload (at most 125) are held; a data message
/// is held only when `captureText` asks for it (a realtime AI route reads its usage events), and
/// then never more than the parser's message limit.
public struct WebSocketReader: Sendable {
    public enum Event: Sendable, Equatable {
        /// A frame header went out.
        case frame(WebSocketFrameParser.Header)
        /// A whole frame went out; its opcode.
        case frameEnded(opcode: UInt8)
        /// A close frame went out, with its code (1005 when it had none).
        case close(code: UInt16)
        /// A whole text message (captured only when `captureText`).
        case text([UInt8])
        /// The peer broke the protocol or a limit; nothing from the failing frame went out.
        case failure(WebSocketCloseCode, String)
    }

    public private(set) var parser: WebSocketFrameParser
    public var captureText: Bool
    private var carry: [UInt8] = []
    private var control: [UInt8] = []
    private var message: [UInt8] = []
    private var capturing = false
    private var frame: WebSocketFrameParser.Header?
    private var frameOffset = 0
    public private(set) var failed = false
    /// Stop at the next frame boundary (a close of Rampart's own is waiting to go out).
    public var stopAtBoundary = false

    public init(parser: WebSocketFrameParser, captureText: Bool = false) {
        self.parser = parser; self.captureText = captureText
    }

    /// Between frames in what went out: a frame of Rampart's own may follow.
    public var atFrameBoundary: Bool { parser.atFrameBoundary }

    /// Reads `input`; `forward` receives the bytes that may go on, in order. Returns how many input
    /// bytes were taken: all of them, unless a failure or `stopAtBoundary` ended the reading.
    @discardableResult
    public mutating func read(_ input: UnsafeRawBufferPointer, forward: (UnsafeRawBufferPointer) -> Void,
                              event: (Event) -> Void) -> Int {
        var at = 0
        while at < input.count && !failed {
            if parser.atFrameBoundary && stopAtBoundary { return at }
            if !carry.isEmpty || (parser.atFrameBoundary && input.count - at < 14) {
                // A header that may be split across reads: gather it (at most 14 bytes).
                let take = min(14 - carry.count, input.count - at)
                let before = carry.count
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[at..<(at + take)]))
                let step = carry.withUnsafeBytes { parser.next($0) }
                switch step {
                case .needMore:
                    if carry.count < 14 { return input.count }
                    fail(.protocolError, "frame header", event); return at
                case .header(let h):
                    carry.withUnsafeBytes { forward(UnsafeRawBufferPointer(rebasing: $0[0..<h.size])) }
                    at += h.size - before
                    carry.removeAll(keepingCapacity: true)
                    began(h, event)
                case .failure(let code, let why):
                    fail(code, why, event); return at
                case .payload:
                    preconditionFailure("a header is parsed at a frame boundary")
                }
                continue
            }
            let rest = UnsafeRawBufferPointer(rebasing: input[at...])
            switch parser.next(rest) {
            case .needMore:
                return at
            case .header(let h):
                forward(UnsafeRawBufferPointer(rebasing: rest[0..<h.size]))
                at += h.size
                began(h, event)
            case .payload(let n, let end):
                let bytes = UnsafeRawBufferPointer(rebasing: rest[0..<n])
                keep(bytes)
                forward(bytes)
                at += n
                if end { ended(event) }
            case .failure(let code, let why):
                fail(code, why, event); return at
            }
        }
        return at
    }

    private mutating func began(_ h: WebSocketFrameParser.Header, _ event: (Event) -> Void) {
        event(.frame(h))
        frame = h
        frameOffset = 0
        if h.isControl { control.removeAll(keepingCapacity: true) }
        else if h.opcode != WebSocketOpcode.continuation {
            capturing = captureText && h.opcode == WebSocketOpcode.text && !h.rsv1
            message.removeAll(keepingCapacity: true)
        }
        if h.length == 0 { ended(event) }
    }

    /// Keeps the payload a control frame or a captured message needs, unmasked.
    private mutating func keep(_ bytes: UnsafeRawBufferPointer) {
        guard let h = frame else { return }
        defer { frameOffset += bytes.count }
        guard h.isControl || capturing else { return }
        var plain = Array(bytes)
        if let mask = h.mask { WebSocketFrames.unmask(&plain, mask: mask, offset: frameOffset) }
        if h.isControl { control.append(contentsOf: plain) } else { message.append(contentsOf: plain) }
    }

    private mutating func ended(_ event: (Event) -> Void) {
        guard let h = frame else { return }
        frame = nil
        event(.frameEnded(opcode: h.opcode))
        if h.opcode == WebSocketOpcode.close { event(.close(code: WebSocketFrames.closeCode(control))) }
        if h.isData && h.fin && capturing {
            capturing = false
            event(.text(message))
            message = []
        }
    }

    private mutating func fail(_ code: WebSocketCloseCode, _ why: String, _ event: (Event) -> Void) {
        failed = true
        event(.failure(code, why))
    }
}
