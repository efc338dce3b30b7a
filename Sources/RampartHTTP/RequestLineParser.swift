// Request line: `method SP request-target SP HTTP-version` with exactly single
// spaces (RFC 9112 §3). Works on byte offsets; Strings are made by the caller.

struct RequestLine {
    var methodEnd: Int
    var targetStart: Int
    var targetEnd: Int
    var versionMinor: Int
}

enum RequestLineParser {
    static let maxMethodBytes = 32

    /// Parses `start..<end` (end = index of the CR ending the line).
    static func parse(_ b: UnsafeRawBufferPointer, start: Int, end: Int) -> Result<RequestLine, HTTPParseError> {
        var i = start
        while i < end && ByteClass.isTChar(b[i]) { i += 1 }
        let methodEnd = i
        if methodEnd == start || i >= end || b[i] != SP {
            return .failure(.badRequest("Invalid method"))
        }
        if methodEnd - start > maxMethodBytes { return .failure(.badRequest("Method too long")) }
        i += 1

        let targetStart = i
        while i < end {
            let c = b[i]
            if c == SP { break }
            if !ByteClass.isTargetByte(c) { return .failure(.badRequest("Invalid character in request target")) }
            i += 1
        }
        let targetEnd = i
        if targetEnd == targetStart { return .failure(.badRequest("Empty request target")) }
        if i >= end { return .failure(.badRequest("Missing HTTP version")) }
        i += 1

        let minor: Int
        switch parseVersion(b, start: i, end: end) {
        case .failure(let e): return .failure(e)
        case .success(let m): minor = m
        }

        // CONNECT, absolute-form and authority-form would let the client pick the
        // upstream authority; a reverse proxy routes on config only.
        if b.equalsLowercase(start, methodEnd, "connect") {
            return .failure(.badRequest("CONNECT is not supported"))
        }
        let first = b[targetStart]
        if first != UInt8(ascii: "/") {
            let isAsterisk = first == UInt8(ascii: "*") && targetEnd - targetStart == 1
            let isOptions = b.equalsExact(start, methodEnd, "OPTIONS")
            if !(isAsterisk && isOptions) {
                return .failure(.badRequest(isAsterisk ? "Asterisk target only allowed with OPTIONS" : "Only origin-form request targets are accepted"))
            }
        }
        return .success(RequestLine(methodEnd: methodEnd, targetStart: targetStart, targetEnd: targetEnd, versionMinor: minor))
    }

    /// Exactly "HTTP/" DIGIT "." DIGIT; well-formed versions other than 1.0/1.1 get 505, anything else 400.
    static func parseVersion(_ b: UnsafeRawBufferPointer, start: Int, end: Int) -> Result<Int, HTTPParseError> {
        guard end - start == 8, b.equalsExact(start, start + 5, "HTTP/"), b[start + 6] == UInt8(ascii: ".") else {
            return .failure(.badRequest("Invalid HTTP version"))
        }
        let major = b[start + 5], minor = b[start + 7]
        guard (0x30...0x39).contains(major), (0x30...0x39).contains(minor) else {
            return .failure(.badRequest("Invalid HTTP version"))
        }
        guard major == UInt8(ascii: "1"), minor <= UInt8(ascii: "1") else {
            return .failure(.versionNotSupported())
        }
        return .success(Int(minor &- 0x30))
    }

    /// Early check on a request line still arriving: a method that is not a short
    /// token followed by SP (e.g. a TLS ClientHello on a plain port) fails now.
    static func checkPartial(_ b: UnsafeRawBufferPointer, start: Int, end: Int) -> HTTPParseError? {
        var i = start
        let limit = min(end, start + maxMethodBytes + 1)
        while i < limit {
            let c = b[i]
            if c == SP { return i == start ? .badRequest("Invalid method") : nil }
            if !ByteClass.isTChar(c) { return .badRequest("Invalid method") }
            i += 1
        }
        if i - start > maxMethodBytes { return .badRequest("Method too long") }
        return nil
    }
}
