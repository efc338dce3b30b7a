import CCurl

/// One libcurl easy handle for a helper thread (the span exporter): a blocking request whose
/// answer body is read and dropped; the caller wants only the status.
final class BlockingCurl {
    struct Failure: Error { var reason: String }

    private let easy = curl_easy_init()!

    deinit { curl_easy_cleanup(easy) }

    /// The set-up every request here shares: URL, deadline, TLS checks, and the answer read and
    /// dropped (libcurl would print it otherwise).
    static func prepare(_ easy: UnsafeMutableRawPointer, _ url: String, timeoutMs: Int, verifyTLS: Bool) {
        _ = rampart_easy_setopt_string(easy, CURLOPT_URL, url)
        _ = rampart_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = rampart_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, timeoutMs))
        if !verifyTLS {
            _ = rampart_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
            _ = rampart_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
        }
        _ = rampart_easy_setopt_datacb(easy, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count }
    }

    /// GET `url`, or POST `body` with `headers`; the HTTP status, or libcurl's reason.
    func perform(_ url: String, timeoutMs: Int, body: [UInt8]? = nil, headers: [String] = [], verifyTLS: Bool = true) -> Result<Int, Failure> {
        curl_easy_reset(easy)
        var list: UnsafeMutablePointer<curl_slist>?
        for h in headers { list = curl_slist_append(list, h) }
        defer { curl_slist_free_all(list) }
        Self.prepare(easy, url, timeoutMs: timeoutMs, verifyTLS: verifyTLS)
        if list != nil { _ = rampart_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list) }
        let code: CURLcode
        if let body {
            _ = rampart_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            code = body.withUnsafeBytes { b in
                _ = rampart_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: b.baseAddress!))
                return curl_easy_perform(easy)
            }
        } else {
            code = curl_easy_perform(easy)
        }
        guard code == CURLE_OK else { return .failure(Failure(reason: String(cString: curl_easy_strerror(code)))) }
        var status = 0 as CLong
        _ = rampart_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(Int(status))
    }
}

/// GETs in flight together on one libcurl multi handle, for a helper thread: each is added when
/// due and reported when it ends, so one slow or dead server delays no other (the health checker).
final class ConcurrentGets {
    private let multi: UnsafeMutableRawPointer = curl_multi_init()!
    private var inFlight: [(easy: UnsafeMutableRawPointer, tag: Int)] = []

    deinit {
        for t in inFlight { curl_multi_remove_handle(multi, t.easy); curl_easy_cleanup(t.easy) }
        curl_multi_cleanup(multi)
    }

    var count: Int { inFlight.count }

    func add(_ url: String, timeoutMs: Int, verifyTLS: Bool, tag: Int) {
        let easy = curl_easy_init()!
        BlockingCurl.prepare(easy, url, timeoutMs: timeoutMs, verifyTLS: verifyTLS)
        curl_multi_add_handle(multi, easy)
        inFlight.append((easy, tag))
    }

    /// Moves the transfers along for up to `waitMs`; the tags that ended, with the HTTP status or
    /// libcurl's reason.
    func poll(waitMs: Int32) -> [(tag: Int, result: Result<Int, BlockingCurl.Failure>)] {
        var running: Int32 = 0
        _ = curl_multi_perform(multi, &running)
        if running > 0 {
            _ = curl_multi_poll(multi, nil, 0, waitMs, nil)
            _ = curl_multi_perform(multi, &running)
        }
        var done: [(tag: Int, result: Result<Int, BlockingCurl.Failure>)] = []
        var left: Int32 = 0
        while let msg = curl_multi_info_read(multi, &left) {
            guard rampart_msg_done(msg) != 0, let i = inFlight.firstIndex(where: { $0.easy == rampart_msg_easy(msg) }) else { continue }
            let (easy, tag) = inFlight.remove(at: i)
            let code = rampart_msg_result(msg)
            if code == CURLE_OK {
                var status = 0 as CLong
                _ = rampart_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                done.append((tag, .success(Int(status))))
            } else {
                done.append((tag, .failure(BlockingCurl.Failure(reason: String(cString: curl_easy_strerror(code))))))
            }
            curl_multi_remove_handle(multi, easy)
            curl_easy_cleanup(easy)
        }
        return done
    }
}
