import COpenSSL

/// A server TLS context (SPEC §6.6): TLS 1.2+ only, forward-secret AEAD ciphers for TLS 1.2,
/// OpenSSL's TLS 1.3 defaults, ALPN http/1.1. Built at start and on each reload, so a renewed
/// certificate is picked up by `POST /admin/reload` or SIGHUP; live connections keep theirs
/// (SSL_new holds a reference on the context).
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer

    public struct LoadError: Error, CustomStringConvertible { public var description: String }

    public init(certFile: String, keyFile: String, http2: Bool = false) throws(LoadError) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw LoadError(description: "SSL_CTX_new failed") }
        self.ctx = ctx
        _ = rampart_ssl_ctx_set_min_tls12(ctx)
        SSL_CTX_set_options(ctx, rampart_ssl_server_options())
        _ = rampart_ssl_ctx_set_server_modes(ctx)
        SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20")
        if http2 { rampart_ssl_ctx_set_alpn_h2(ctx) } else { rampart_ssl_ctx_set_alpn_http11(ctx) }
        guard SSL_CTX_use_certificate_chain_file(ctx, certFile) == 1 else {
            throw LoadError(description: "server.tls.cert_file: cannot load \(certFile): \(Self.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw LoadError(description: "server.tls.key_file: cannot load \(keyFile): \(Self.lastError())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw LoadError(description: "server.tls.key_file: the key does not match the certificate")
        }
    }

    private init(client ctx: OpaquePointer) { self.ctx = ctx }

    /// A client context for the upstream connections Rampart opens itself (WebSocket tunnels to
    /// `https://` upstreams): TLS 1.2+, the system's trust store, and peer verification unless
    /// the upstream says `tls_verify: false`.
    public static func client(verify: Bool) -> TLSContext? {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { return nil }
        _ = rampart_ssl_ctx_set_min_tls12(ctx)
        _ = rampart_ssl_ctx_set_client_modes(ctx)
        if verify {
            SSL_CTX_set_default_verify_paths(ctx)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        return TLSContext(client: ctx)
    }

    deinit { SSL_CTX_free(ctx) }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var buf = [UInt8](repeating: 0, count: 256)
        buf.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: 256) { ERR_error_string_n(code, $0, 256) }
        }
        return String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// One connection's TLS state over a non-blocking socket (OpenSSL's fd BIO).
package final class TLSSession {
    let ssl: OpaquePointer
    /// SSL_read needed to write (handshake or key update): retry the read when writable.
    package var readWantsWrite = false

    package init?(context: TLSContext, fd: Int32) {
        guard let ssl = SSL_new(context.ctx) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    /// The client end of a connection to `host` (SNI for a name; the certificate must match it
    /// when the context verifies). The handshake runs inside the first reads and writes.
    package init?(clientOf context: TLSContext, fd: Int32, host: String, verify: Bool) {
        guard let ssl = SSL_new(context.ctx) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)
        if Socket.parseIP(host) == nil { _ = rampart_ssl_set_sni(ssl, host) }
        if verify { SSL_set1_host(ssl, host) }
    }

    deinit { SSL_free(ssl) }

    package enum IO { case bytes(Int), wouldBlock, closed }

    package func read(into buffer: UnsafeMutableRawPointer, count: Int) -> IO {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer, Int32(min(count, Int(Int32.max))))
        if n > 0 { readWantsWrite = false; return .bytes(Int(n)) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ: return .wouldBlock
        case SSL_ERROR_WANT_WRITE: readWantsWrite = true; return .wouldBlock
        default: return .closed      // clean close_notify, a reset, or not TLS at all (plain HTTP)
        }
    }

    package func write(_ buffer: UnsafeRawPointer, count: Int) -> IO {
        ERR_clear_error()
        let n = SSL_write(ssl, buffer, Int32(min(count, Int(Int32.max))))
        if n > 0 { return .bytes(Int(n)) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wouldBlock
        default: return .closed
        }
    }

    var hasBufferedPlaintext: Bool { SSL_pending(ssl) > 0 }

    /// ALPN chose `h2` (known once the handshake is done, i.e. after the first bytes were read).
    package var negotiatedH2: Bool { rampart_ssl_alpn_is_h2(ssl) != 0 }

    /// Best effort close_notify; never waits.
    package func shutdown() { ERR_clear_error(); SSL_shutdown(ssl) }
}
