import CNGHTTP2
import RampartHTTP
import RampartLoop

/// The limits of the HTTP/2 front door (SPEC §11.7), made once per config.
public struct HTTP2Settings: Sendable, Equatable {
    /// Prior-knowledge cleartext HTTP/2 on a plain listener.
    public var h2c = false
    public var maxConcurrentStreams = 100
    /// Decoded request header list (names, values, 32 bytes each), advertised in SETTINGS.
    public var maxHeaderListBytes = 16384
    /// RST_STREAM frames from a client (and streams refused over the limit) per 10 s (Rapid Reset).
    public var maxResetsPer10s = 200
    /// PING and SETTINGS frames a client may send per 10 s, each.
    public var maxControlFramesPer10s = 200
    /// CONTINUATION frames after one HEADERS frame (CONTINUATION flood).
    public var maxContinuations = 8
    /// What a client may upload on one stream before Rampart's upstream took it (its receive window).
    public var streamWindow = 256 * 1024
    /// Response bytes queued on one stream before its producer pauses, and where it resumes.
    public var streamHighWatermark = 64 * 1024
    public var streamLowWatermark = 16 * 1024
    public init() {}
}

/// Why a connection was ended with GOAWAY (the `kind` of `rampart_http2_abuse_total`).
public enum HTTP2Abuse: String, Sendable {
    case rapidReset = "rapid_reset", continuation, headerList = "header_list", hpack
    case pingFlood = "ping_flood", settingsFlood = "settings_flood", flood, protocolError = "protocol"

    /// The kind behind a GOAWAY nghttp2 sent by itself.
    static func of(goaway code: UInt32) -> HTTP2Abuse {
        switch code {
        case NGHTTP2_ENHANCE_YOUR_CALM.rawValue: return .flood
        case NGHTTP2_COMPRESSION_ERROR.rawValue: return .hpack
        default: return .protocolError
        }
    }

    /// nghttp2's verdict on input it refused.
    static func of(_ rc: Int32) -> HTTP2Abuse {
        switch rc {
        case NGHTTP2_ERR_HEADER_COMP.rawValue: return .hpack
        case NGHTTP2_ERR_FLOODED.rawValue: return .flood
        case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue: return .continuation
        default: return .protocolError
        }
    }
}

/// The nghttp2 session of a connection and its callbacks: C function pointers that find their
/// connection through `user_data` (unretained: the connection owns the session and frees it).
enum HTTP2Callbacks {
    static func connection(_ user: UnsafeMutableRawPointer?) -> HTTP2Connection {
        Unmanaged<HTTP2Connection>.fromOpaque(user!).takeUnretainedValue()
    }

    static func makeSession(for c: HTTP2Connection) -> OpaquePointer {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks) { _, hd, user in
            HTTP2Callbacks.connection(user).beginFrame(hd!.pointee)
        }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, user in
            HTTP2Callbacks.connection(user).beginHeaders(frame!.pointee)
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, namelen, value, valuelen, _, user in
            HTTP2Callbacks.connection(user).header(frame!.pointee, UnsafeRawBufferPointer(start: name, count: namelen),
                                    UnsafeRawBufferPointer(start: value, count: valuelen))
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            HTTP2Callbacks.connection(user).frameReceived(frame!.pointee)
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, id, data, len, user in
            HTTP2Callbacks.connection(user).data(id, UnsafeRawBufferPointer(start: data, count: len))
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, id, _, user in
            HTTP2Callbacks.connection(user).streamClosedByNGHTTP2(id)
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, user in
            HTTP2Callbacks.connection(user).frameSent(frame!.pointee)
        }
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        // Uploads are acknowledged when an exchange took them, not when they arrive: a stream's
        // receive window is its backpressure.
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_continuations(option, c.settings.maxContinuations)
        nghttp2_option_set_stream_reset_rate_limit(option, UInt64(c.settings.maxResetsPer10s), UInt64(max(1, c.settings.maxResetsPer10s / 10)))
        nghttp2_option_set_max_outbound_ack(option, 1000)
        var session: OpaquePointer?
        nghttp2_session_server_new2(&session, callbacks, Unmanaged.passUnretained(c).toOpaque(), option)
        return session!
    }

    static let ok: Int32 = 0
    static let failure = NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
}

extension HTTP2Connection {
    /// Every frame header, before its payload: the flood limits are counted here.
    func beginFrame(_ hd: nghttp2_frame_hd) -> Int32 {
        let now = loop.now
        switch UInt32(hd.type) {
        case NGHTTP2_CONTINUATION.rawValue:
            continuations += 1
            if continuations > settings.maxContinuations { abuse = .continuation; return HTTP2Callbacks.failure }
        case NGHTTP2_HEADERS.rawValue:
            continuations = 0
            if hd.flags & UInt8(NGHTTP2_FLAG_END_HEADERS.rawValue) == 0 { headerBlockSince = now; watch() }
        case NGHTTP2_RST_STREAM.rawValue:
            if resets.exceeds(settings.maxResetsPer10s, now: now) { abuse = .rapidReset; return HTTP2Callbacks.failure }
        case NGHTTP2_PING.rawValue where hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0:
            if pings.exceeds(settings.maxControlFramesPer10s, now: now) { abuse = .pingFlood; return HTTP2Callbacks.failure }
        case NGHTTP2_SETTINGS.rawValue where hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0:
            if settingsFrames.exceeds(settings.maxControlFramesPer10s, now: now) { abuse = .settingsFlood; return HTTP2Callbacks.failure }
        default: break
        }
        return HTTP2Callbacks.ok
    }

    func beginHeaders(_ frame: nghttp2_frame) -> Int32 {
        guard frame.hd.type == UInt8(NGHTTP2_HEADERS.rawValue), frame.headers.cat == NGHTTP2_HCAT_REQUEST else { return HTTP2Callbacks.ok }
        let id = frame.hd.stream_id
        // Streams over the advertised limit (a client that ignored SETTINGS) are refused; each
        // refusal counts as a reset, so a client that keeps trying meets the Rapid Reset limit.
        if streams.count >= settings.maxConcurrentStreams || closed {
            nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, NGHTTP2_REFUSED_STREAM.rawValue)
            if resets.exceeds(settings.maxResetsPer10s, now: loop.now) { abuse = .rapidReset; return HTTP2Callbacks.failure }
            return HTTP2Callbacks.ok
        }
        streams[id] = HTTP2Stream(connection: self, id: id)
        return HTTP2Callbacks.ok
    }

    func header(_ frame: nghttp2_frame, _ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[frame.hd.stream_id] else { return HTTP2Callbacks.ok }
        // The decoded list is bounded as it grows (an HPACK bomb decodes small input into a huge
        // list): past the size advertised in SETTINGS is abuse, not a big request.
        stream.headerBytes += name.count + value.count + 32
        if stream.headerBytes > settings.maxHeaderListBytes { abuse = .headerList; return HTTP2Callbacks.failure }
        stream.addField(name, value)
        return HTTP2Callbacks.ok
    }

    func frameReceived(_ frame: nghttp2_frame) -> Int32 {
        let id = frame.hd.stream_id
        let endStream = frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(frame.hd.type) {
        case NGHTTP2_HEADERS.rawValue:
            headerBlockSince = nil
            guard let stream = streams[id] else { break }
            if frame.headers.cat == NGHTTP2_HCAT_REQUEST { stream.headersComplete(endStream: endStream) }
            else if endStream { stream.uploadEnded() }   // trailers end the body
        case NGHTTP2_DATA.rawValue:
            // Padding takes window too: acknowledged at once (no exchange reads it).
            if frame.data.padlen > 0 { consumed.append((id, Int(frame.data.padlen))) }
            if endStream { streams[id]?.uploadEnded() }
        default: break
        }
        return HTTP2Callbacks.ok
    }

    func data(_ id: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let stream = streams[id] else { consumed.append((id, bytes.count)); return HTTP2Callbacks.ok }
        stream.upload(bytes)
        return HTTP2Callbacks.ok
    }

    /// A GOAWAY with an error, whoever decided it (a limit of Rampart's, or nghttp2 on broken
    /// framing or its own flood checks), is the one abuse count of the connection.
    func frameSent(_ frame: nghttp2_frame) -> Int32 {
        guard frame.hd.type == UInt8(NGHTTP2_GOAWAY.rawValue), frame.goaway.error_code != NGHTTP2_NO_ERROR.rawValue else { return HTTP2Callbacks.ok }
        countAbuse(abuse ?? HTTP2Abuse.of(goaway: frame.goaway.error_code))
        return HTTP2Callbacks.ok
    }

    func streamClosedByNGHTTP2(_ id: Int32) -> Int32 {
        streams[id]?.closedByProtocol()
        streamClosed(id)
        return HTTP2Callbacks.ok
    }
}
