import CNGHTTP2
import Foundation
import Glibc
import RampartHTTP
import RampartLoop

/// One request stream of an HTTP/2 connection, as its exchange sees it (`ClientStream`): the same
/// head, body, backpressure and endings as an HTTP/1.1 request, so every route and filter behaves
/// the same. What a stream may hold is bounded: its upload by its receive window (acknowledged
/// only once the exchange took the bytes), its response by a watermark that pauses the producer,
/// so a slow reader of one stream holds its own buffer and never stalls the others.
final class HTTP2Stream: ClientStream {
    let connection: HTTP2Connection
    let id: Int32
    /// The header list as it is decoded, then the HTTP/1.1 request it stands for.
    private var mapping = HTTP2RequestMapping()
    var headerBytes = 0
    private(set) var head: HTTPRequestHead?
    private(set) var exchange: ServerExchange?

    private var responseStarted = false
    private var responseEnded = false
    private var bodiless = false
    private let out = ByteBuffer(capacity: 4096)
    private var waitingForWritable = false
    private var uploadPaused = false
    private var pendingUpload: [UInt8] = []
    private var uploadEndPending = false
    private var uploadDone = false
    private var closed = false
    /// An Extended CONNECT for WebSocket (RFC 8441): after its 200 the stream's DATA carries the
    /// socket's frames both ways, as the bytes after a 101 do on HTTP/1.1.
    private var tunnel = false

    init(connection: HTTP2Connection, id: Int32) { self.connection = connection; self.id = id }

    // MARK: Request

    func addField(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) { mapping.add(name: name, value: value) }

    /// The head is whole: the exchange begins with the HTTP/1.1 request it stands for, held to the
    /// HTTP/1.1 parser's strictness (`HTTP2RequestMapping`), or the stream gets that parser's error.
    func headersComplete(endStream: Bool) {
        guard exchange == nil, !closed, head == nil else { return }
        var head: HTTPRequestHead
        switch mapping.head(endStream: endStream, limits: connection.limits) {
        case .failure(let problem):
            let (h, body) = connection.host.localReply(for: .malformed(problem), request: nil, on: self)
            sendWhole(h, body)
            return
        case .success(let h): head = h
        }
        if mapping.extendedProtocol != nil {
            // An HTTP/2 client sends no key: Rampart makes the nonce the upstream answers.
            tunnel = true
            head.headers.add("Sec-WebSocket-Key", HTTP2Stream.nonce())
        }
        self.head = head
        mapping = HTTP2RequestMapping()
        let ex = connection.service.begin(head, on: self)
        guard !closed, !responseEnded else { return }
        exchange = ex
        if endStream || tunnel || head.framing == .none { uploadDone = !tunnel; ex.requestBodyEnded() }
        else { lastUpload = connection.loop.now; connection.watch() }
    }

    /// When the upload last moved (`body_timeout_ms` counts from here).
    private(set) var lastUpload: UInt64 = 0

    /// A request body is on its way and Rampart is reading it (a paused upload is Rampart's wait).
    var uploading: Bool { exchange != nil && !uploadDone && !tunnel && !uploadPaused && !closed }

    /// The client stopped sending the body: the exchange answers 408, or the stream is reset.
    func uploadTimedOut() {
        guard let ex = exchange else { return }
        uploadDone = true
        if ex.requestBodyTimedOut() { return }
        connection.host.connectionTimedOut("body")
        exchange = nil
        ex.connectionClosed()
        if !responseEnded { abortResponse() }
    }

    /// RST_STREAM(NO_ERROR) went out after a complete answer to a request still uploading.
    private var stopSent = false

    func upload(_ bytes: UnsafeRawBufferPointer) {
        lastUpload = connection.loop.now
        if responseEnded && !tunnel { stopUploadAfterAnswer() }
        guard let exchange, !uploadDone || tunnel else { connection.consumed.append((id, bytes.count)); return }
        if uploadPaused || !pendingUpload.isEmpty { pendingUpload.append(contentsOf: bytes); return }
        connection.consumed.append((id, bytes.count))
        exchange.requestBody(bytes)
    }

    /// Answered before the body arrived (413, 401…): once the whole answer is out (END_STREAM
    /// sent), the client is asked to stop sending with RST_STREAM(NO_ERROR) (RFC 9113 §8.1), as
    /// HTTP/1.1's lingering close ends such an upload; the answer itself is never cut.
    private func stopUploadAfterAnswer() {
        guard !stopSent, !closed, nghttp2_session_get_stream_local_close(connection.session, id) == 1 else { return }
        stopSent = true
        nghttp2_submit_rst_stream(connection.session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, NGHTTP2_NO_ERROR.rawValue)
        connection.scheduleFlush()
    }

    func uploadEnded() {
        // A tunnel's END_STREAM is the client's close, as a FIN is on HTTP/1.1.
        if tunnel {
            let ex = exchange
            exchange = nil
            ex?.connectionClosed()
            if responseStarted && !responseEnded { endResponse() } else if !responseStarted { abortResponse() }
            return
        }
        guard !uploadDone else { return }
        if uploadPaused || !pendingUpload.isEmpty { uploadEndPending = true; return }
        uploadDone = true
        exchange?.requestBodyEnded()
    }

    func pauseRequestBody() { uploadPaused = true }

    func resumeRequestBody() {
        guard uploadPaused else { return }
        uploadPaused = false
        lastUpload = connection.loop.now   // the wait was Rampart's, not the client's
        connection.watch()
        connection.loop.deferToEndOfIteration { [self] in
            guard !uploadPaused, !closed, let exchange else { return }
            if !pendingUpload.isEmpty {
                let bytes = pendingUpload
                pendingUpload = []
                connection.consumed.append((id, bytes.count))
                bytes.withUnsafeBytes { exchange.requestBody($0) }
                connection.acknowledgeUploads()
                connection.scheduleFlush()
            }
            if uploadEndPending && !uploadPaused { uploadEndPending = false; uploadDone = true; exchange.requestBodyEnded() }
        }
    }

    /// HTTP/2 clients that ask for `100-continue` get it as an interim HEADERS frame.
    func sendContinueIfExpected() {
        guard head?.expectsContinue == true, !responseStarted, !closed else { return }
        var storage = Array(":status100".utf8)
        storage.withUnsafeMutableBufferPointer { b in
            var nv = nghttp2_nv(name: b.baseAddress, value: b.baseAddress! + 7, namelen: 7, valuelen: 3, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            _ = nghttp2_submit_headers(connection.session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, nil, &nv, 1, nil)
        }
        connection.scheduleFlush()
    }

    // MARK: Response

    var requestHead: HTTPRequestHead? { head }
    var isHTTP2: Bool { true }
    var isTLS: Bool { connection.isTLS }
    var peerIP: [UInt8] { connection.peerIP }
    var peerText: String { connection.peerText }

    func sendHead(_ head: HTTPResponseHead) {
        guard !responseStarted, !closed else { return }
        responseStarted = true
        var head = head
        if tunnel && head.status == 101 {
            // RFC 8441 §5: the switch is a 200 on the stream, without the HTTP/1.1 handshake fields.
            head.status = 200
            for name in ["Sec-WebSocket-Accept", "Upgrade", "Connection"] { head.headers.remove(name) }
        }
        bodiless = !tunnel && ResponseFramingRules.isBodiless(status: head.status, requestMethod: self.head?.method)
        // Connection-specific fields have no place in HTTP/2 (RFC 9113 §8.2.2).
        let named = head.headers.connectionFieldNames()
        var list = HTTP2HeaderList()
        list.append(":status", String(head.status))
        head.headers.withFieldBytes { f in
            for i in 0..<f.count {
                let n = f.name(i)
                if f.nameIs(i, "connection") || f.nameIs(i, "keep-alive") || f.nameIs(i, "proxy-connection")
                    || f.nameIs(i, "transfer-encoding") || f.nameIs(i, "upgrade") { continue }
                if !named.isEmpty && named.contains(where: { t in HTTPHeaders.withBytes(t) { ASCIIBytes.equalsIgnoringCase(n, $0) } }) { continue }
                list.append(name: n, value: f.value(i))
            }
        }
        list.withNV { nva, count in
            if bodiless {
                _ = nghttp2_submit_response(connection.session, id, nva, count, nil)
            } else {
                var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil)) { session, id, buf, length, flags, _, user in
                    HTTP2Callbacks.connection(user).streams[id]?.readResponse(into: buf!, length: length, flags: flags!)
                        ?? Int(NGHTTP2_ERR_DEFERRED.rawValue)
                }
                _ = nghttp2_submit_response(connection.session, id, nva, count, &provider)
            }
        }
        connection.scheduleFlush()
    }

    @discardableResult
    func sendBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        guard responseStarted, !responseEnded, !closed else { return .pause }
        guard !bodiless, !bytes.isEmpty else { return .proceed }
        out.append(bytes)
        nghttp2_session_resume_data(connection.session, id)
        connection.scheduleFlush()
        if out.readableCount >= connection.settings.streamHighWatermark { waitingForWritable = true; return .pause }
        return .proceed
    }

    func endResponse() {
        guard responseStarted, !responseEnded, !closed else { return }
        responseEnded = true
        if !bodiless { nghttp2_session_resume_data(connection.session, id) }
        connection.scheduleFlush()
    }

    func abortResponse() {
        guard !responseEnded, !closed else { return }
        responseEnded = true
        exchange = nil
        nghttp2_submit_rst_stream(connection.session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, NGHTTP2_INTERNAL_ERROR.rawValue)
        connection.scheduleFlush()
    }

    /// nghttp2 asks for DATA (up to `length`, within the flow-control windows).
    func readResponse(into buf: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        let n = min(length, out.readableCount)
        if n > 0 { memcpy(buf, out.readable.baseAddress!, n); out.consume(n) }
        if out.isEmpty {
            out.release()   // a stream between events holds no buffer
            if responseEnded { flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
            else if n == 0 { return Int(NGHTTP2_ERR_DEFERRED.rawValue) }
        }
        if waitingForWritable && out.readableCount <= connection.settings.streamLowWatermark {
            waitingForWritable = false
            connection.loop.deferToEndOfIteration { [self] in if !closed { exchange?.resumeResponse() } }
        }
        return n
    }

    // MARK: Ending

    /// nghttp2 closed the stream (the response went out, or the client reset it).
    func closedByProtocol() {
        guard !closed else { return }
        closed = true
        out.release()
        let ex = exchange
        exchange = nil
        if !responseEnded { ex?.connectionClosed() }
    }

    /// The whole connection ended (the client left, or abuse): as a reset for this stream.
    func connectionEnded() { closedByProtocol() }

    /// A `Sec-WebSocket-Key`: 16 random bytes in base64.
    static func nonce() -> String {
        var rng = SystemRandomNumberGenerator()
        return Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }).base64EncodedString()
    }
}

/// Response fields as nghttp2 name/value pairs over one byte buffer, names lowercased as HTTP/2
/// requires (RFC 9113 §8.2.1); nghttp2 copies them when the response is submitted.
struct HTTP2HeaderList {
    private var bytes: [UInt8] = []
    private var spans: [(name: Int, nameCount: Int, value: Int, valueCount: Int)] = []

    mutating func append(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        let a = bytes.count
        for b in name { bytes.append(ASCIIBytes.lower(b)) }
        let v = bytes.count
        bytes.append(contentsOf: value)
        spans.append((a, name.count, v, value.count))
    }

    mutating func append(_ name: String, _ value: String) {
        HTTPHeaders.withBytes(name) { n in HTTPHeaders.withBytes(value) { append(name: n, value: $0) } }
    }

    func withNV(_ body: (UnsafePointer<nghttp2_nv>, Int) -> Void) {
        var bytes = bytes
        bytes.withUnsafeMutableBufferPointer { s in
            let nva = spans.map { span in
                nghttp2_nv(name: s.baseAddress! + span.name, value: s.baseAddress! + span.value, namelen: span.nameCount,
                           valuelen: span.valueCount, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}
