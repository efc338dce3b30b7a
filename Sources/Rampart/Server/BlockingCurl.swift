import CCurl

/// One libcurl easy handle for a helper thread (the span exporter, the health checker): a
/// blocking request whose answer body is read and dropped; the caller wants only the status.
final class BlockingCurl {
    struct Failure: Error { var reason: String }

    private let easy = curl_easy_init()!

    deinit { curl_easy_cleanup(easy) }

    /// GET `url`, or POST `body` with `headers`; the HTTP status, or libcurl's reason.
    func perform(_ url: String, timeoutMs: Int, body: [UInt8]? = nil, headers: [String] = [], verifyTLS: Bool = true) -> Result<Int, Failure> {
        curl_easy_reset(easy)
        var list: UnsafeMutablePointer<curl_slist>?
        for h in headers { list = curl_slist_append(list, h) }
        defer { curl_slist_free_all(list) }
        _ = rampart_easy_setopt_string(easy, CURLOPT_URL, url)
        _ = rampart_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = rampart_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, timeoutMs))
        if list != nil { _ = rampart_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list) }
        if !verifyTLS {
            _ = rampart_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
            _ = rampart_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
        }
        // The answer is not needed: read and dropped (libcurl would print it otherwise).
        _ = rampart_easy_setopt_datacb(easy, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count }
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
