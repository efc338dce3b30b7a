// Header section parsing (RFC 9112 §5): one field per CRLF line, token name, no
// whitespace before the colon, OWS trimmed around the value, no obs-fold, no CTLs.
// Fields the framing depends on are noted by byte range while scanning so the
// semantic checks need no second lookup.

struct HeadFacts {
    var hostCount = 0
    var host = 0..<0
    var contentLengthCount = 0
    var contentLength = 0..<0
    var transferEncodingCount = 0
    var transferEncoding = 0..<0
    var expectPresent = false
    var expectOther = false
    var connectionTokens: [String] = []
}

enum HeaderFieldsParser {
    /// Parses lines from `start` up to `end`, the index of the CR of the final empty line, into
    /// `headers`: the block is copied once and each field recorded as offsets into the copy.
    /// Every LF in range is already known to follow a CR; a CR not followed by LF is bare.
    static func parse(
        _ b: UnsafeRawBufferPointer, start: Int, end: Int, maxCount: Int,
        headers: inout HTTPHeaders, facts: inout HeadFacts
    ) -> HTTPParseError? {
        headers = HTTPHeaders(block: UnsafeRawBufferPointer(rebasing: b[start..<end]), spare: spareBytes, fieldCapacity: spareFields)
        var i = start
        while i < end {
            let first = b[i]
            if ByteClass.isOWS(first) { return .badRequest("Obsolete line folding in header") }

            let nameStart = i
            while ByteClass.isTChar(b[i]) { i &+= 1 }
            let nameEnd = i
            let stop = b[i]
            if stop != COLON {
                if ByteClass.isOWS(stop) && nameEnd > nameStart { return .badRequest("Whitespace before colon in header") }
                return .badRequest(stop == CR && nameEnd > nameStart ? "Header line without colon" : "Invalid character in header name")
            }
            if nameEnd == nameStart { return .badRequest("Empty header name") }
            i += 1

            while ByteClass.isOWS(b[i]) { i &+= 1 }
            let valueStart = i
            var sawHighBit = false
            while true {
                i = b.skipPlainFieldBytes(from: i, sawHighBit: &sawHighBit)
                let c = b[i]
                if c == CR { break }
                if !ByteClass.isFieldValueByte(c) { return .badRequest("Invalid character in header value") }
                if c >= 0x80 { sawHighBit = true }
                i &+= 1
            }
            if b[i + 1] != LF { return .badRequest("Bare CR in header") }
            var valueEnd = i
            while valueEnd > valueStart && ByteClass.isOWS(b[valueEnd - 1]) { valueEnd -= 1 }
            i += 2

            if headers.count >= maxCount { return .headersTooLarge("Too many header fields") }
            // obs-text is forwarded unchanged, and read back as a String by filters: only valid UTF-8 is kept.
            if sawHighBit && !Self.isValidUTF8(UnsafeRawBufferPointer(rebasing: b[valueStart..<valueEnd])) {
                return .badRequest("Header value is not valid UTF-8")
            }
            let known = KnownHeaderName.classify(UnsafeRawBufferPointer(rebasing: b[nameStart..<nameEnd]).assumingMemoryBound(to: UInt8.self))
            headers.appendParsed(name: nameStart - start..<nameEnd - start, value: valueStart - start..<valueEnd - start, known: known)
            if let e = note(b, known, valueStart..<valueEnd, &facts) { return e }
        }
        return nil
    }

    static let keepAliveToken = ["keep-alive"]
    static let closeToken = ["close"]

    /// Room left after a parsed block for the fields a proxy adds to the head: a response with
    /// its security headers, request id, Via and a quota's RateLimit fields stays in one allocation,
    /// and the whole stays under glibc's per-thread cache limit (1032 bytes) for a usual head.
    static let spareBytes = 448
    static let spareFields = 20

    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Records the fields that decide framing, routing and connection handling.
    @inline(__always)
    static func note(_ b: UnsafeRawBufferPointer, _ known: KnownHeaderName, _ value: Range<Int>, _ facts: inout HeadFacts) -> HTTPParseError? {
        switch known {
        case .host:
            facts.hostCount += 1
            facts.host = value
        case .expect:
            facts.expectPresent = true
            if !b.equalsLowercase(value.lowerBound, value.upperBound, "100-continue") { facts.expectOther = true }
        case .connection:
            return appendTokens(b, value, &facts.connectionTokens)
        case .contentLength:
            facts.contentLengthCount += 1
            facts.contentLength = value
        case .transferEncoding:
            facts.transferEncodingCount += 1
            facts.transferEncoding = value
        default:
            break
        }
        return nil
    }

    /// Splits a `#token` list (empty elements allowed, RFC 9110 §5.6.1) into lowercased tokens.
    static func appendTokens(_ b: UnsafeRawBufferPointer, _ value: Range<Int>, _ tokens: inout [String]) -> HTTPParseError? {
        // What nearly every head says, without a String or an array made for it.
        if tokens.isEmpty {
            if b.equalsLowercase(value.lowerBound, value.upperBound, "keep-alive") { tokens = keepAliveToken; return nil }
            if b.equalsLowercase(value.lowerBound, value.upperBound, "close") { tokens = closeToken; return nil }
        }
        var i = value.lowerBound
        let end = value.upperBound
        while i < end {
            while i < end && (ByteClass.isOWS(b[i]) || b[i] == UInt8(ascii: ",")) { i += 1 }
            let s = i
            while i < end && ByteClass.isTChar(b[i]) { i += 1 }
            let e = i
            while i < end && ByteClass.isOWS(b[i]) { i += 1 }
            if i < end && b[i] != UInt8(ascii: ",") { return .badRequest("Invalid Connection header") }
            if e > s { tokens.append(b.lowercasedString(s, e)) }
        }
        return nil
    }
}

extension Array where Element == String {
    /// Whether a list of lowercased tokens (the parser's Connection tokens) holds `token`: the
    /// lengths first, so the usual one-token list costs no String comparison.
    public func containsToken(_ token: StaticString) -> Bool {
        contains { $0.utf8.count == token.utf8CodeUnitCount && HTTPHeaders.withBytes($0) { ASCIIBytes.equalsLowercase($0, token) } }
    }
}
