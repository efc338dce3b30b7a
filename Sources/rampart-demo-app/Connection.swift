import Glibc

/// Why this exists: the demo app is deliberately a plain blocking server (one thread per connection),
/// so tests exercise Rampart against something simple and predictable. This is the byte layer:
/// buffered reads for the request parser and "write everything or fail" for responses.
final class Connection {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    private(set) var isClosed = false

    init(fd: Int32) { self.fd = fd }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = Glibc.close(fd)
    }

    /// Closes without the HTTP framing terminator, so the peer sees an abruptly ended body.
    func abortiveClose() {
        guard !isClosed else { return }
        _ = shutdown(fd, Int32(SHUT_RDWR))
        close()
    }

    private var available: Int { buffer.count - position }

    /// Reads more bytes from the socket. Throws `.closed` on EOF, error or receive timeout.
    private func fill() throws(HTTPError) {
        if position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        } else if position > 64 * 1024 {
            buffer.removeFirst(position)
            position = 0
        }
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: scratch[0..<n])
                return
            }
            if n < 0 && errno == EINTR { continue }
            throw .closed
        }
    }

    /// One line without its `\n` (and a preceding `\r`). Longer than `limit` → `tooLarge`.
    func readLine(limit: Int) throws(HTTPError) -> [UInt8] {
        var scanFrom = position
        while true {
            if let newline = buffer[scanFrom...].firstIndex(of: 0x0A) {
                var end = newline
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                guard end - position <= limit else { throw .tooLarge("line too long") }
                let line = Array(buffer[position..<end])
                position = newline + 1
                return line
            }
            guard available <= limit + 1 else { throw .tooLarge("line too long") }
            let scanned = available  // relative: fill() may move the unread bytes to the front
            try fill()
            scanFrom = position + scanned
        }
    }

    /// Appends exactly `count` bytes to `body`.
    func read(count: Int, into body: inout [UInt8]) throws(HTTPError) {
        var remaining = count
        while remaining > 0 {
            if available == 0 { try fill() }
            let take = min(available, remaining)
            body.append(contentsOf: buffer[position..<position + take])
            position += take
            remaining -= take
        }
    }

    /// Writes all bytes; false when the peer is gone (EPIPE, reset, send timeout).
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { write($0) }
    }

    @discardableResult
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !isClosed else { return false }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}
