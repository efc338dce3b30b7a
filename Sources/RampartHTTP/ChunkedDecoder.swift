// Streaming chunked transfer-coding decoder (RFC 9112 §7.1). A byte-level state
// machine so a body may arrive split anywhere; payload runs are handed out as
// slices of the input, never copied. Every deviation is an error, because a
// chunk boundary read differently by the upstream is request smuggling.

public enum ChunkedDecodeResult: Sendable, Equatable {
    /// All input consumed, body not finished yet.
    case needMore(consumed: Int)
    /// Body ended after `consumed` bytes of this input; the rest belongs to the next message.
    case finished(consumed: Int)
    case failure(HTTPParseError)
}

/// One step of `ChunkedDecoder.next`: a run of payload, or where the framing stands.
public enum ChunkedStep: Sendable, Equatable {
    /// Payload bytes `input[range]`; framing before them is consumed with them.
    case data(Range<Int>)
    case needMore(consumed: Int)
    case finished(consumed: Int)
    case failure(HTTPParseError)
}

public struct ChunkedDecoder: Sendable {
    enum State: Sendable {
        case sizeStart, sizeDigits, sizeBWS
        case extBeforeName, extName, extAfterName, extBeforeValue, extToken, extQuoted, extQuotedEscape,
            extAfterQuoted, extAfterValueBWS
        case sizeLF, data, dataCR, dataLF
        case trailerStart, trailerName, trailerValue, trailerLF, finalLF
        case finished, failed
    }

    /// Cap on one chunk-size line including extensions: extensions are ignored, so they must not be unbounded.
    static let maxSizeLineBytes = 4096
    static let maxSizeDigits = 15

    public let maxChunkSize: Int
    public let maxTrailerBytes: Int
    var state: State = .sizeStart
    var chunkSize = 0
    var remaining = 0
    var digits = 0
    var lineBytes = 0
    var trailerBytes = 0
    /// Why decoding stopped, as a plain value: a decoder lives inside connection states that are
    /// copied and replaced on every response, and a String here would make each of those a
    /// reference-counted copy.
    var failure: Failure? = nil
    /// Payload bytes delivered so far, for the caller's body-size limit (413).
    public private(set) var payloadBytes = 0

    enum Failure: UInt8, Sendable {
        case bareCRAfterLastChunk, bareCRInSizeLine, bareCRInTrailer, dataNotFollowedByCRLF, sizeLineTooLong, sizeTooLarge
        case invalidTrailerValue, invalidExtension, invalidSize, invalidTrailerField, trailerLineFolding, trailerTooLarge

        var error: HTTPParseError {
            switch self {
        case .bareCRAfterLastChunk: return .badRequest("Bare CR after last chunk")
        case .bareCRInSizeLine: return .badRequest("Bare CR in chunk size line")
        case .bareCRInTrailer: return .badRequest("Bare CR in trailer")
        case .dataNotFollowedByCRLF: return .badRequest("Chunk data not followed by CRLF")
        case .sizeLineTooLong: return .badRequest("Chunk size line too long")
        case .sizeTooLarge: return .badRequest("Chunk size too large")
        case .invalidTrailerValue: return .badRequest("Invalid character in trailer value")
        case .invalidExtension: return .badRequest("Invalid chunk extension")
        case .invalidSize: return .badRequest("Invalid chunk size")
        case .invalidTrailerField: return .badRequest("Invalid trailer field")
        case .trailerLineFolding: return .badRequest("Obsolete line folding in trailer")
        case .trailerTooLarge: return .headersTooLarge("Trailer section too large")
            }
        }
    }

    public init(maxChunkSize: Int = Int(Int32.max), maxTrailerBytes: Int = 8192) {
        self.maxChunkSize = maxChunkSize
        self.maxTrailerBytes = maxTrailerBytes
    }

    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Decodes as much of `input` as possible; calls `body` with each run of payload bytes (slices of input, no copy).
    public mutating func decode(_ input: UnsafeRawBufferPointer, body: (UnsafeRawBufferPointer) -> Void) -> ChunkedDecodeResult {
        var offset = 0
        while true {
            switch next(UnsafeRawBufferPointer(rebasing: input[offset...])) {
            case .data(let r):
                body(UnsafeRawBufferPointer(rebasing: input[(offset + r.lowerBound)..<(offset + r.upperBound)]))
                offset += r.upperBound
            case .needMore(let consumed): return .needMore(consumed: offset + consumed)
            case .finished(let consumed): return .finished(consumed: offset + consumed)
            case .failure(let e): return .failure(e)
            }
        }
    }

    /// Decodes up to the next run of payload and stops there, so a caller that hands each run to
    /// code which may call back into it (a connection's state machine) holds no access meanwhile.
    /// After `.data(r)` the caller consumes through `r.upperBound` and calls again.
    public mutating func next(_ input: UnsafeRawBufferPointer) -> ChunkedStep {
        if case .finished = state { return .finished(consumed: 0) }
        if let failure { return .failure(failure.error) }
        let n = input.count
        var i = 0
        while i < n {
            if case .data = state {
                let take = min(remaining, n - i)
                remaining -= take
                payloadBytes += take
                if remaining == 0 { state = .dataCR }
                return .data(i..<(i + take))
            }
            if let e = step(input[i]) { state = .failed; failure = e; return .failure(e.error) }
            i += 1
            if case .finished = state { return .finished(consumed: i) }
        }
        return .needMore(consumed: n)
    }

    /// Advances the framing state by one byte (everything but payload).
    private mutating func step(_ c: UInt8) -> Failure? {
        switch state {
        case .sizeStart, .sizeDigits, .sizeBWS, .extBeforeName, .extName, .extAfterName, .extBeforeValue,
            .extToken, .extQuoted, .extQuotedEscape, .extAfterQuoted, .extAfterValueBWS:
            lineBytes += 1
            if lineBytes > Self.maxSizeLineBytes { return .sizeLineTooLong }
            return stepSizeLine(c)
        case .sizeLF:
            guard c == LF else { return .bareCRInSizeLine }
            lineBytes = 0
            if chunkSize == 0 {
                state = .trailerStart
            } else {
                remaining = chunkSize
                state = .data
            }
        case .data:
            break
        case .dataCR:
            guard c == CR else { return .dataNotFollowedByCRLF }
            state = .dataLF
        case .dataLF:
            guard c == LF else { return .dataNotFollowedByCRLF }
            state = .sizeStart
            chunkSize = 0
            digits = 0
        case .trailerStart, .trailerName, .trailerValue, .trailerLF, .finalLF:
            trailerBytes += 1
            if trailerBytes > maxTrailerBytes { return .trailerTooLarge }
            return stepTrailer(c)
        case .finished, .failed:
            break
        }
        return nil
    }

    /// chunk-size [ chunk-ext ] CRLF, with chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
    private mutating func stepSizeLine(_ c: UInt8) -> Failure? {
        switch state {
        case .sizeStart, .sizeDigits:
            if let v = ByteClass.hexValue(c) {
                digits += 1
                if digits > Self.maxSizeDigits { return .sizeTooLarge }
                chunkSize = chunkSize << 4 | v
                if chunkSize > maxChunkSize { return .sizeTooLarge }
                state = .sizeDigits
                return nil
            }
            guard case .sizeDigits = state else { return .invalidSize }
            switch c {
            case CR: state = .sizeLF
            case UInt8(ascii: ";"): state = .extBeforeName
            case SP, HTAB: state = .sizeBWS
            default: return .invalidSize
            }
        case .sizeBWS:
            if ByteClass.isOWS(c) { return nil }
            guard c == UInt8(ascii: ";") else { return .invalidSize }
            state = .extBeforeName
        case .extBeforeName:
            if ByteClass.isOWS(c) { return nil }
            guard ByteClass.isTChar(c) else { return .invalidExtension }
            state = .extName
        case .extName, .extToken:
            if ByteClass.isTChar(c) { return nil }
            let afterWS: State = state == .extName ? .extAfterName : .extAfterValueBWS
            switch c {
            case CR: state = .sizeLF
            case UInt8(ascii: ";"): state = .extBeforeName
            case UInt8(ascii: "=") where state == .extName: state = .extBeforeValue
            case SP, HTAB: state = afterWS
            default: return .invalidExtension
            }
        case .extAfterName:
            switch c {
            case SP, HTAB: break
            case UInt8(ascii: "="): state = .extBeforeValue
            case UInt8(ascii: ";"): state = .extBeforeName
            default: return .invalidExtension
            }
        case .extBeforeValue:
            if ByteClass.isOWS(c) { return nil }
            if c == UInt8(ascii: "\"") {
                state = .extQuoted
            } else if ByteClass.isTChar(c) {
                state = .extToken
            } else {
                return .invalidExtension
            }
        case .extQuoted:
            switch c {
            case UInt8(ascii: "\""): state = .extAfterQuoted
            case UInt8(ascii: "\\"): state = .extQuotedEscape
            default:
                guard ByteClass.isFieldValueByte(c) else { return .invalidExtension }
            }
        case .extQuotedEscape:
            guard ByteClass.isFieldValueByte(c) else { return .invalidExtension }
            state = .extQuoted
        case .extAfterQuoted:
            switch c {
            case CR: state = .sizeLF
            case UInt8(ascii: ";"): state = .extBeforeName
            case SP, HTAB: state = .extAfterValueBWS
            default: return .invalidExtension
            }
        case .extAfterValueBWS:
            if ByteClass.isOWS(c) { return nil }
            guard c == UInt8(ascii: ";") else { return .invalidExtension }
            state = .extBeforeName
        default:
            break
        }
        return nil
    }

    /// trailer-section = *( field-line CRLF ) CRLF, checked like headers and discarded.
    private mutating func stepTrailer(_ c: UInt8) -> Failure? {
        switch state {
        case .trailerStart:
            if c == CR {
                state = .finalLF
            } else if ByteClass.isTChar(c) {
                state = .trailerName
            } else {
                return ByteClass.isOWS(c) ? .trailerLineFolding : .invalidTrailerField
            }
        case .trailerName:
            if ByteClass.isTChar(c) { return nil }
            guard c == COLON else { return .invalidTrailerField }
            state = .trailerValue
        case .trailerValue:
            if c == CR {
                state = .trailerLF
            } else if !ByteClass.isFieldValueByte(c) {
                return .invalidTrailerValue
            }
        case .trailerLF:
            guard c == LF else { return .bareCRInTrailer }
            state = .trailerStart
        case .finalLF:
            guard c == LF else { return .bareCRAfterLastChunk }
            state = .finished
        default:
            break
        }
        return nil
    }
}

extension ChunkedDecoder {
    /// Convenience for callers holding an array (tests, fuzzers).
    public mutating func decode(_ input: [UInt8], body: (UnsafeRawBufferPointer) -> Void) -> ChunkedDecodeResult {
        input.withUnsafeBytes { decode($0, body: body) }
    }
}
