/// Request parsing. Why lenient-but-correct: the demo app is the thing *behind* the hardening proxy,
/// so it accepts what a normal app framework would (Content-Length or chunked bodies, `Expect:
/// 100-continue`, HTTP/1.0) and rejects only what it cannot frame.
enum HTTPError: Error {
    case closed
    case bad(String)
    case tooLarge(String)
    case headTooLarge
}

struct Request {
    let method: String
    /// The request target exactly as received (path and query).
    let target: String
    let version: String
    /// Headers in received order with names as received.
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    /// The path part of the target, not percent-decoded.
    var path: String {
        String(target.prefix { $0 != "?" })
    }

    var query: [String: String] {
        guard let q = target.firstIndex(of: "?") else { return [:] }
        var result: [String: String] = [:]
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(parts[0])
            if result[key] == nil { result[key] = parts.count > 1 ? percentDecode(parts[1]) : "" }
        }
        return result
    }

    /// First header with that name, case-insensitively.
    func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// An integer query parameter clamped to `range`; `fallback` when absent or not a number.
    func queryInt(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
        guard let raw = query[name], let value = Int(raw) else { return fallback }
        return min(max(value, range.lowerBound), range.upperBound)
    }

    var json: JSON? { JSON.parse(body) }

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Whether the client asked to keep the connection open after this exchange.
    var wantsKeepAlive: Bool {
        let tokens = headers.filter { $0.name.lowercased() == "connection" }
            .flatMap { $0.value.lowercased().split(separator: ",").map { $0.trimmingSpaces } }
        if version == "HTTP/1.0" { return tokens.contains("keep-alive") }
        return !tokens.contains("close")
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Percent-decoding for paths and query strings (`+` is a space in queries; harmless in paths here).
func percentDecode(_ s: Substring) -> String {
    var out: [UInt8] = []
    let bytes = Array(s.utf8)
    var i = 0
    func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
            let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2])
        {
            out.append(hi << 4 | lo)
            i += 3
        } else {
            out.append(bytes[i] == UInt8(ascii: "+") ? 0x20 : bytes[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

enum RequestReader {
    static let maxHeadBytes = 64 * 1024
    /// Bodies are held in memory; this caps what one upload may cost.
    static let maxBodyBytes = 512 * 1024 * 1024

    /// Reads one request. Returns nil on a clean EOF between requests.
    static func read(from conn: Connection) throws(HTTPError) -> Request? {
        var line: [UInt8]
        var headBytes = 0
        // Tolerate stray empty lines before a request line (RFC 9112 §2.2).
        repeat {
            do {
                line = try conn.readLine(limit: maxHeadBytes)
            } catch .closed {
                if headBytes == 0 { return nil }
                throw .closed
            } catch .tooLarge {
                throw .headTooLarge
            }
            headBytes += line.count + 2
            guard headBytes <= maxHeadBytes else { throw .headTooLarge }
        } while line.isEmpty

        let parts = String(decoding: line, as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, parts[2].hasPrefix("HTTP/1.") else {
            throw .bad("malformed request line")
        }
        let method = String(parts[0])
        let target = String(parts[1])
        let version = String(parts[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw .bad("unsupported HTTP version") }

        var headers: [(name: String, value: String)] = []
        while true {
            let raw: [UInt8]
            do {
                raw = try conn.readLine(limit: maxHeadBytes)
            } catch .tooLarge {
                throw .headTooLarge
            }
            headBytes += raw.count + 2
            guard headBytes <= maxHeadBytes else { throw .headTooLarge }
            if raw.isEmpty { break }
            guard raw[0] != 0x20 && raw[0] != 0x09 else { throw .bad("obsolete line folding") }
            guard let colon = raw.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { throw .bad("malformed header") }
            let name = String(decoding: raw[..<colon], as: UTF8.self)
            guard !name.contains(where: { $0 == " " || $0 == "\t" }) else { throw .bad("malformed header name") }
            let value = Substring(String(decoding: raw[(colon + 1)...], as: UTF8.self)).trimmingSpaces
            headers.append((name, value))
        }

        let request = Request(method: method, target: target, version: version, headers: headers, body: [])
        let body = try readBody(of: request, from: conn)
        return Request(method: method, target: target, version: version, headers: headers, body: body)
    }

    private static func readBody(of request: Request, from conn: Connection) throws(HTTPError) -> [UInt8] {
        let transferEncodings = request.headers.filter { $0.name.lowercased() == "transfer-encoding" }
            .flatMap { $0.value.lowercased().split(separator: ",").map { $0.trimmingSpaces } }
        let lengths = request.headers.filter { $0.name.lowercased() == "content-length" }
            .flatMap { $0.value.split(separator: ",").map { $0.trimmingSpaces } }
        let expectsContinue = request.header("Expect")?.lowercased() == "100-continue" && request.version == "HTTP/1.1"
        func sendContinue() {
            if expectsContinue { conn.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }
        }

        // Inside a chunked body an over-long line is a framing error, not a size problem.
        func chunkLine(limit: Int) throws(HTTPError) -> [UInt8] {
            do {
                return try conn.readLine(limit: limit)
            } catch .tooLarge {
                throw .bad("malformed chunked body")
            }
        }

        var body: [UInt8] = []
        if !transferEncodings.isEmpty {
            guard transferEncodings.last == "chunked" else { throw .bad("unsupported transfer-encoding") }
            sendContinue()
            while true {
                let sizeLine = try chunkLine(limit: 1024)
                let sizeText = String(decoding: sizeLine.prefix { $0 != UInt8(ascii: ";") }, as: UTF8.self)
                    .filter { $0 != " " && $0 != "\t" }
                guard !sizeText.isEmpty, sizeText.count <= 12, sizeText.allSatisfy(\.isHexDigit),
                    let size = Int(sizeText, radix: 16)
                else { throw .bad("bad chunk size") }
                if size == 0 {
                    while try !chunkLine(limit: maxHeadBytes).isEmpty {}  // trailers, ignored
                    return body
                }
                guard body.count + size <= maxBodyBytes else { throw .tooLarge("body too large") }
                try conn.read(count: size, into: &body)
                guard try chunkLine(limit: 0).isEmpty else { throw .bad("missing CRLF after chunk") }
            }
        }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.count <= 15,
                first.allSatisfy(\.isASCII), first.allSatisfy(\.isNumber), let length = Int(first)
            else { throw .bad("bad content-length") }
            guard length <= maxBodyBytes else { throw .tooLarge("body too large") }
            if length > 0 {
                sendContinue()
                body.reserveCapacity(length)
                try conn.read(count: length, into: &body)
            }
        }
        return body
    }
}
