import CCurl
import RampartLoop
import Glibc
import RampartHTTP

/// One exchange on a libcurl easy handle. Lives on its transport's loop; keeps itself alive while
/// curl holds a pointer to it (CURLOPT_PRIVATE and the callbacks' userdata).
final class CurlCall: UpstreamCall {
    private let easy: UnsafeMutableRawPointer
    private unowned let transport: CurlTransport
    private var handler: UpstreamResponseHandler?
    private let request: UpstreamRequest
    private var selfRetain: CurlCall?
    private var headerList: UnsafeMutablePointer<curl_slist>?

    private var status = 0
    private var versionMinor = 1
    private var responseHeaders = HTTPHeaders()
    /// The final head was read (trailers follow); it waits in `pendingHead` until delivered.
    private var headSeen = false
    private var pendingHead: HTTPResponseHead?
    private var pauseWanted = false
    private var recvPaused = false
    private var sendPaused = false
    private var finished = false

    private let upload = ByteBuffer(capacity: 16 * 1024)
    private var uploadEnded = false
    private var uploadBlocked = false
    package static let uploadHighWatermark = 256 * 1024

    package init(easy: UnsafeMutableRawPointer, transport: CurlTransport, handler: UpstreamResponseHandler, request: UpstreamRequest) {
        self.easy = easy; self.transport = transport; self.handler = handler; self.request = request
        if request.body == .none { uploadEnded = true }
        selfRetain = self
    }

    package func configure() {
        let u = request.endpoint
        let host = u.host.contains(":") ? "[\(u.host)]" : u.host
        let url = "\(u.scheme)://\(host):\(u.port)\(request.target)"
        rampart_easy_setopt_string(easy, CURLOPT_URL, url)
        rampart_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        rampart_easy_setopt_long(easy, CURLOPT_PATH_AS_IS, 1)
        rampart_easy_setopt_string(easy, CURLOPT_PROXY, "")          // never pick up http_proxy from the env
        rampart_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        rampart_easy_setopt_long(easy, CURLOPT_HTTP_CONTENT_DECODING, 0)
        rampart_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMs)
        rampart_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        rampart_easy_setopt_long(easy, CURLOPT_BUFFERSIZE, 64 * 1024)
        rampart_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, u.scheme == "https" ? Int(CURL_HTTP_VERSION_2TLS) : Int(CURL_HTTP_VERSION_1_1))
        if u.scheme == "https" && !u.tlsVerify {
            rampart_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
            rampart_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
        }

        // With UPLOAD curl would send PUT: name the method explicitly whenever there is a body.
        if request.method == "HEAD" { rampart_easy_setopt_long(easy, CURLOPT_NOBODY, 1) }
        else if request.method == "GET" && request.body == .none { rampart_easy_setopt_long(easy, CURLOPT_HTTPGET, 1) }
        else { rampart_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method) }
        switch request.body {
        case .none: break
        case .known(let n):
            rampart_easy_setopt_long(easy, CURLOPT_UPLOAD, 1)
            rampart_easy_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(n))
        case .streamed:
            rampart_easy_setopt_long(easy, CURLOPT_UPLOAD, 1)
            rampart_easy_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, -1)
        }
        // Headers exactly as the pipeline decided; blank entries suppress the ones curl adds itself.
        var list: UnsafeMutablePointer<curl_slist>?
        let headers = request.headers
        for field in headers.fields { list = curl_slist_append(list, "\(field.name): \(field.value)") }
        for suppressed in ["Accept", "Expect", "Content-Type", "User-Agent"] where !headers.contains(suppressed) {
            list = curl_slist_append(list, "\(suppressed):")
        }
        headerList = list
        rampart_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)

        let me = Unmanaged.passUnretained(self).toOpaque()
        rampart_easy_setopt_pointer(easy, CURLOPT_PRIVATE, me)
        rampart_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        rampart_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        rampart_easy_setopt_pointer(easy, CURLOPT_READDATA, me)
        rampart_easy_setopt_datacb(easy, CURLOPT_HEADERFUNCTION) { ptr, size, n, ud in
            Unmanaged<CurlCall>.fromOpaque(ud!).takeUnretainedValue().headerLine(UnsafeRawBufferPointer(start: ptr, count: size * n))
        }
        rampart_easy_setopt_datacb(easy, CURLOPT_WRITEFUNCTION) { ptr, size, n, ud in
            Unmanaged<CurlCall>.fromOpaque(ud!).takeUnretainedValue().bodyBytes(UnsafeRawBufferPointer(start: ptr, count: size * n))
        }
        rampart_easy_setopt_datacb(easy, CURLOPT_READFUNCTION) { ptr, size, n, ud in
            Unmanaged<CurlCall>.fromOpaque(ud!).takeUnretainedValue().readUpload(into: UnsafeMutableRawPointer(ptr!), capacity: size * n)
        }
    }

    // MARK: Response

    /// curl hands us raw header lines: a status line starts each block (1xx blocks come first),
    /// an empty line ends it. Only the final block becomes the response head, and only when its
    /// framing passes Rampart's own rules (curl reads `Content-Length: 0x10` as 0, `+5` as 5).
    private func headerLine(_ line: UnsafeRawBufferPointer) -> Int {
        let count = line.count
        guard !headSeen else { return count }   // trailers: dropped
        var end = count
        while end > 0 && (line[end - 1] == 0x0A || line[end - 1] == 0x0D) { end -= 1 }
        if end == 0 {
            if status >= 200 {
                headSeen = true
                if case .failure(let e) = ResponseFramingRules.declared(responseHeaders, versionMinor: versionMinor) {
                    fail(.invalidResponse(e.message))
                    return 0   // curl aborts the transfer
                }
                pendingHead = HTTPResponseHead(status: status, headers: responseHeaders)
                transport.loop.deferToEndOfIteration { [self] in deliverHead() }
            }
            return count
        }
        if end > 5 && line[0] == 0x48 && line[1] == 0x54 && line[2] == 0x54 && line[3] == 0x50 && line[4] == 0x2F { // "HTTP/"
            status = 0
            versionMinor = end > 7 && line[5] == 0x31 && line[6] == 0x2E && line[7] == 0x30 ? 0 : 1   // "HTTP/1.0"
            responseHeaders = HTTPHeaders()
            var i = 5
            while i < end && line[i] != 0x20 { i += 1 }
            i += 1
            var code = 0, digits = 0
            while i < end, digits < 3, line[i] >= 0x30, line[i] <= 0x39 { code = code * 10 + Int(line[i] - 0x30); i += 1; digits += 1 }
            status = digits == 3 ? code : 0
            return count
        }
        guard let colon = line[0..<end].firstIndex(of: 0x3A) else { return count }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<colon]), as: UTF8.self)
        var vs = colon + 1
        while vs < end && (line[vs] == 0x20 || line[vs] == 0x09) { vs += 1 }
        var ve = end
        while ve > vs && (line[ve - 1] == 0x20 || line[ve - 1] == 0x09) { ve -= 1 }
        responseHeaders.add(name, String(decoding: UnsafeRawBufferPointer(rebasing: line[vs..<ve]), as: UTF8.self))
        return count
    }

    /// The final head goes out once the bytes read with it were processed: a body curl found
    /// broken in that same read (a bad chunk size) makes the exchange a 502, not a relayed head.
    private func deliverHead() {
        guard let head = pendingHead, !finished else { return }
        pendingHead = nil
        handler?.upstreamHead(head)
    }

    private func bodyBytes(_ bytes: UnsafeRawBufferPointer) -> Int {
        if pendingHead != nil { deliverHead() }
        if pauseWanted { recvPaused = true; return Int(CURL_WRITEFUNC_PAUSE) }
        guard let handler else { return 0 }   // cancelled: make curl abort
        if handler.upstreamBody(bytes) == .pause { pauseWanted = true }
        return bytes.count
    }

    package func resumeResponse() {
        pauseWanted = false
        guard recvPaused, !finished else { return }
        recvPaused = false
        applyPause()
    }

    // MARK: Request body

    private func readUpload(into dst: UnsafeMutableRawPointer, capacity: Int) -> Int {
        let n = min(capacity, upload.readableCount)
        if n > 0 {
            dst.copyMemory(from: upload.readable.baseAddress!, byteCount: n)
            upload.consume(n)
            if uploadBlocked && upload.readableCount < Self.uploadHighWatermark / 2 {
                uploadBlocked = false
                let h = handler
                transport.loop.deferToEndOfIteration { h?.resumeRequestBody() }
            }
            return n
        }
        if uploadEnded { return 0 }
        sendPaused = true
        return Int(CURL_READFUNC_PAUSE)
    }

    package func appendBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        guard !finished else { return .proceed }
        upload.append(bytes)
        unpauseSend()
        if upload.readableCount >= Self.uploadHighWatermark { uploadBlocked = true; return .pause }
        return .proceed
    }

    package func endBody() {
        uploadEnded = true
        unpauseSend()
    }

    private func unpauseSend() {
        guard sendPaused, !finished else { return }
        sendPaused = false
        applyPause()
    }

    private func applyPause() {
        var mask: Int32 = 0
        if recvPaused { mask |= CURLPAUSE_RECV }
        if sendPaused { mask |= CURLPAUSE_SEND }
        curl_easy_pause(easy, mask)
        // Unpausing can complete a transfer synchronously; collect it.
        transport.drainMessages()
    }

    // MARK: End

    package func completed(_ code: CURLcode) {
        guard !finished else { return }
        let failure: UpstreamFailure?
        switch code {
        case CURLE_OK:
            failure = headSeen ? nil : .invalidResponse("no response head")
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION:
            failure = .connectFailed(Self.describe(code))
        case CURLE_OPERATION_TIMEDOUT:
            failure = .connectTimeout
        case CURLE_WEIRD_SERVER_REPLY, CURLE_UNSUPPORTED_PROTOCOL, CURLE_HTTP2:
            failure = .invalidResponse(Self.describe(code))
        default:
            failure = .reset(Self.describe(code))
        }
        // A clean end delivers a head still waiting; a failure replaces it (the client gets 502).
        if failure == nil { deliverHead() } else { pendingHead = nil }
        fail(failure)
    }

    package func fail(_ failure: UpstreamFailure?) {
        guard !finished else { return }
        let h = handler
        release()
        h?.upstreamFinished(failure)
    }

    package func cancel() { release() }

    private func release() {
        guard !finished else { return }
        finished = true
        handler = nil
        // Never remove a handle from inside one of its own callbacks: do it after this iteration.
        transport.loop.deferToEndOfIteration { [self] in
            transport.recycle(easy)
            if let headerList { curl_slist_free_all(headerList) }
            headerList = nil
            selfRetain = nil
        }
    }

    private static func describe(_ code: CURLcode) -> String { String(cString: curl_easy_strerror(code)) }
}
