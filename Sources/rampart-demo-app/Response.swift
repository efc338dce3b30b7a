import Glibc

/// Writes one response. Handlers either send a whole body at once or stream (fixed length or
/// chunked). Streaming calls return false when the handler should stop: the client went away, or
/// the request was HEAD (headers only). That one signal keeps every streaming handler simple.
final class ResponseWriter {
    private enum State {
        case idle
        case fixed(remaining: Int)
        case chunked
        case raw  // HTTP/1.0 client: stream until close
        case done
    }

    let conn: Connection
    let isHead: Bool
    let version: String
    /// Keep the connection after this response; cleared on errors, aborts and HTTP/1.0 streams.
    private(set) var keepAlive: Bool
    private(set) var status = 0
    private(set) var bodyBytes = 0
    private var state = State.idle

    init(conn: Connection, request: Request) {
        self.conn = conn
        self.isHead = request.method == "HEAD"
        self.version = request.version
        self.keepAlive = request.wantsKeepAlive
    }

    var hasStarted: Bool {
        if case .idle = state { return false }
        return true
    }

    // MARK: Whole responses

    func send(_ status: Int, headers: [(String, String)] = [], body: [UInt8]) {
        guard !hasStarted else { return }
        var bytes = head(status, headers, framing: "Content-Length: \(body.count)")
        if !isHead { bytes.append(contentsOf: body) }
        if !conn.write(bytes) { keepAlive = false }
        bodyBytes = isHead ? 0 : body.count
        state = .done
    }

    func json(_ status: Int, _ value: JSON, headers: [(String, String)] = []) {
        send(status, headers: [("Content-Type", "application/json")] + headers, body: value.bytes)
    }

    func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8",
              headers: [(String, String)] = [])
    {
        send(status, headers: [("Content-Type", contentType)] + headers, body: Array(text.utf8))
    }

    // MARK: Streaming

    /// Sends headers for a body of known length; write the body with `write`.
    func startFixed(_ status: Int, headers: [(String, String)], length: Int) -> Bool {
        guard !hasStarted else { return false }
        state = .fixed(remaining: length)
        guard conn.write(head(status, headers, framing: "Content-Length: \(length)")) else { return fail() }
        if isHead || length == 0 {
            state = .done
            return false
        }
        return true
    }

    /// Sends headers for a chunked body (or a close-delimited one to an HTTP/1.0 client).
    func startChunked(_ status: Int, headers: [(String, String)]) -> Bool {
        guard !hasStarted else { return false }
        if version == "HTTP/1.0" {
            keepAlive = false
            state = .raw
            guard conn.write(head(status, headers, framing: nil)) else { return fail() }
        } else {
            state = .chunked
            guard conn.write(head(status, headers, framing: "Transfer-Encoding: chunked")) else { return fail() }
        }
        if isHead {
            state = .done
            return false
        }
        return true
    }

    /// Writes part of a streamed body (one chunk when chunked).
    func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { write($0) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return true }
        switch state {
        case .fixed(let remaining):
            let count = min(remaining, bytes.count)
            guard conn.write(UnsafeRawBufferPointer(rebasing: bytes[0..<count])) else { return fail() }
            bodyBytes += count
            state = remaining - count == 0 ? .done : .fixed(remaining: remaining - count)
            return remaining - count > 0
        case .chunked:
            var frame = Array(String(bytes.count, radix: 16).utf8) + [13, 10]
            frame.append(contentsOf: bytes)
            frame.append(contentsOf: [13, 10])
            guard conn.write(frame) else { return fail() }
            bodyBytes += bytes.count
            return true
        case .raw:
            guard conn.write(bytes) else { return fail() }
            bodyBytes += bytes.count
            return true
        case .idle, .done:
            return false
        }
    }

    /// Ends the response cleanly. A handler that sent nothing gets a 500 so the client is never left hanging.
    func finish() {
        switch state {
        case .idle:
            json(500, ["error": "handler_sent_nothing"])
        case .chunked:
            if !conn.write(Array("0\r\n\r\n".utf8)) { keepAlive = false }
            state = .done
        case .fixed:
            // Promised more bytes than were written: the framing is broken, so the connection must go.
            keepAlive = false
            state = .done
        case .raw:
            keepAlive = false
            state = .done
        case .done:
            break
        }
    }

    /// Ends the connection mid-body without a terminator, simulating an upstream that died.
    func abort() {
        keepAlive = false
        state = .done
        conn.abortiveClose()
    }

    /// A pause between streamed events. Blocking is fine: one thread per connection.
    func pause(ms: Int) {
        guard ms > 0 else { return }
        var request = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    private func fail() -> Bool {
        keepAlive = false
        state = .done
        return false
    }

    private func head(_ status: Int, _ headers: [(String, String)], framing: String?) -> [UInt8] {
        self.status = status
        var text = "HTTP/1.1 \(status) \(ResponseWriter.reason(status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let framing { text += framing + "\r\n" }
        if !keepAlive {
            text += "Connection: close\r\n"
        } else if version == "HTTP/1.0" {
            text += "Connection: keep-alive\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}
