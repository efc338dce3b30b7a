/// RFC 6455 §5 frames read as they stream, never a whole message: the relay forwards each frame's
/// header and payload bytes as they arrive, so a 1 MiB message costs no 1 MiB buffer, while every
/// rule a proxy must hold is checked at the header, before any byte of the frame moves on
/// (masking by direction, reserved bits and opcodes, control-frame limits, fragmentation order,
/// the message size limit: close 1009 before a too-large message starts to flow).
public struct WebSocketFrameParser: Sendable {
    /// Who sends the frames this parser reads: clients must mask, servers must not (§5.1).
    public enum Sender: Sendable { case client, server }

    public struct Header: Sendable, Equatable {
        public var fin: Bool
        public var rsv1: Bool
        public var opcode: UInt8
        /// The masking key as sent (client frames), nil for server frames.
        public var mask: UInt32?
        public var length: Int
        /// Bytes of the header itself (2 to 14).
        public var size: Int
        public var isControl: Bool { opcode & 0x8 != 0 }
        public var isData: Bool { opcode == WebSocketOpcode.text || opcode == WebSocketOpcode.binary || opcode == WebSocketOpcode.continuation }
    }

    public enum Step: Sendable, Equatable {
        /// Nothing to do until more bytes arrive.
        case needMore
        /// A checked frame header: the input's first `header.size` bytes. A frame without payload
        /// is complete with it.
        case header(Header)
        /// The input's first `count` bytes are payload of the current frame; `frameEnd` when they finish it.
        case payload(count: Int, frameEnd: Bool)
        /// The peer broke the protocol or a limit: close with this code (the bytes are not forwarded).
        case failure(WebSocketCloseCode, String)
    }

    public let sender: Sender
    public let maxMessageBytes: Int
    /// A negotiated extension (permessage-deflate) gives RSV1 a meaning on a message's first frame.
    public let allowsRSV1: Bool
    /// The frame whose payload is being read, if any.
    public private(set) var current: Header?
    /// Payload bytes the current frame still has.
    public private(set) var remaining = 0
    /// A fragmented data message is open (its first frame had FIN clear).
    public private(set) var inMessage = false
    /// Payload bytes of the open (or just finished) data message so far.
    public private(set) var messageBytes = 0
    /// The opcode of the open data message: text or binary.
    public private(set) var messageOpcode: UInt8 = 0
    private var failed = false

    public init(sender: Sender, maxMessageBytes: Int, allowsRSV1: Bool = false) {
        self.sender = sender; self.maxMessageBytes = maxMessageBytes; self.allowsRSV1 = allowsRSV1
    }

    /// Between frames: a frame of Rampart's own (a ping, a close) may be sent in this direction.
    public var atFrameBoundary: Bool { current == nil }

    public mutating func next(_ input: UnsafeRawBufferPointer) -> Step {
        if failed { return .needMore }
        if current != nil {
            guard !input.isEmpty else { return .needMore }
            let n = min(remaining, input.count)
            remaining -= n
            if remaining == 0 { current = nil }
            return .payload(count: n, frameEnd: remaining == 0)
        }
        guard input.count >= 2 else { return .needMore }
        let b0 = input[0], b1 = input[1]
        let masked = b1 & 0x80 != 0
        var size = 2
        var length = Int(b1 & 0x7F)
        if length == 126 { size = 4 } else if length == 127 { size = 10 }
        if masked { size += 4 }
        guard input.count >= size else { return .needMore }
        var at = 2
        if length == 126 {
            length = Int(input[2]) << 8 | Int(input[3])
            at = 4
            if length < 126 { return fail(.protocolError, "non-minimal frame length") }
        } else if length == 127 {
            var n: UInt64 = 0
            for i in 2..<10 { n = n << 8 | UInt64(input[i]) }
            at = 10
            if n >> 63 != 0 { return fail(.protocolError, "frame length has its top bit set") }
            if n <= 0xFFFF { return fail(.protocolError, "non-minimal frame length") }
            // Larger than any message Rampart admits: refused as too big before any arithmetic.
            if n > UInt64(Int32.max) { return fail(.messageTooBig, "frame of \(n) bytes") }
            length = Int(n)
        }
        var mask: UInt32?
        if masked {
            mask = UInt32(input[at]) << 24 | UInt32(input[at + 1]) << 16 | UInt32(input[at + 2]) << 8 | UInt32(input[at + 3])
        }
        let header = Header(fin: b0 & 0x80 != 0, rsv1: b0 & 0x40 != 0, opcode: b0 & 0x0F, mask: mask, length: length, size: size)
        if let refusal = check(header, rsv23: b0 & 0x30 != 0) { return refusal }
        if length > 0 { current = header; remaining = length }
        return .header(header)
    }

    /// The header rules of §5.2–5.5 and the message size limit; updates the message state.
    private mutating func check(_ h: Header, rsv23: Bool) -> Step? {
        switch sender {
        case .client where h.mask == nil: return fail(.protocolError, "client frame is not masked")
        case .server where h.mask != nil: return fail(.protocolError, "server frame is masked")
        default: break
        }
        if rsv23 { return fail(.protocolError, "reserved bits set") }
        switch h.opcode {
        case WebSocketOpcode.close, WebSocketOpcode.ping, WebSocketOpcode.pong:
            if !h.fin { return fail(.protocolError, "fragmented control frame") }
            if h.length > 125 { return fail(.protocolError, "control frame over 125 bytes") }
            if h.rsv1 { return fail(.protocolError, "reserved bit on a control frame") }
            if h.opcode == WebSocketOpcode.close && h.length == 1 { return fail(.protocolError, "close frame with a 1-byte payload") }
            return nil
        case WebSocketOpcode.text, WebSocketOpcode.binary:
            if inMessage { return fail(.protocolError, "new message inside a fragmented one") }
            if h.rsv1 && !allowsRSV1 { return fail(.protocolError, "reserved bit without an extension") }
            messageOpcode = h.opcode
            messageBytes = 0
        case WebSocketOpcode.continuation:
            if !inMessage { return fail(.protocolError, "continuation without a message") }
            if h.rsv1 { return fail(.protocolError, "reserved bit on a continuation frame") }
        default:
            return fail(.protocolError, "reserved opcode \(h.opcode)")
        }
        if h.length > maxMessageBytes - messageBytes { return fail(.messageTooBig, "message over \(maxMessageBytes) bytes") }
        messageBytes += h.length
        inMessage = !h.fin
        return nil
    }

    private mutating func fail(_ code: WebSocketCloseCode, _ why: String) -> Step {
        failed = true
        return .failure(code, why)
    }
}

public enum WebSocketOpcode {
    public static let continuation: UInt8 = 0x0
    public static let text: UInt8 = 0x1
    public static let binary: UInt8 = 0x2
    public static let close: UInt8 = 0x8
    public static let ping: UInt8 = 0x9
    public static let pong: UInt8 = 0xA
}

/// The close codes Rampart sends or reports (RFC 6455 §7.4.1).
public struct WebSocketCloseCode: RawRepresentable, Sendable, Equatable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let normal = WebSocketCloseCode(rawValue: 1000)
    public static let goingAway = WebSocketCloseCode(rawValue: 1001)
    public static let protocolError = WebSocketCloseCode(rawValue: 1002)
    /// No close frame was seen before the connection ended (never sent on the wire).
    public static let abnormal = WebSocketCloseCode(rawValue: 1006)
    public static let policyViolation = WebSocketCloseCode(rawValue: 1008)
    public static let messageTooBig = WebSocketCloseCode(rawValue: 1009)
    public static let internalError = WebSocketCloseCode(rawValue: 1011)
}
