import RampartHTTP
import RampartLoop
import RampartTransport

/// The finishing step every response passes before its head is written, proxied or Rampart's
/// own: the request id, the fields the route's stages decided (CORS, rate-limit headers), then the
/// security headers last so they win (HSTS only over TLS).
enum ResponseFinish {
    /// `requestID` nil: already on the head (a proxied response gets it with its forwarding fields).
    package static func apply(_ h: inout HTTPHeaders, requestID: String?, stageFields: HTTPHeaders, headersConfig: HeadersConfig?, tls: Bool) {
        if let requestID { h.set("X-Request-Id", requestID) }
        h.append(contentsOf: stageFields)
        if let headersConfig { SecurityHeaders.apply(headersConfig, to: &h, tls: tls) }
    }

    /// The same for a route's response: the config is borrowed from the route's plan, not copied
    /// into an optional (a copy is a retain per array it holds, on every response).
    static func apply(_ h: inout HTTPHeaders, stageFields: HTTPHeaders, headersConfig: borrowing HeadersConfig, tls: Bool) {
        h.append(contentsOf: stageFields)
        SecurityHeaders.apply(headersConfig, to: &h, tls: tls)
    }
}

/// The one builder of every response Rampart writes itself: errors (the JSON of SPEC §4, from the
/// proxy, the parser, health and admin listeners), health and admin answers, preflights. Every
/// one passes `ResponseFinish`; admin answers pass `headersConfig: nil` (their listener is for
/// ops tools, with its own fixed fields).
package enum LocalReply {
    package static func head(status: Int, contentType: String?, bodyLength: Int, requestID: String, extra: [HTTPField] = [],
                     stageFields: HTTPHeaders = HTTPHeaders(), headersConfig: HeadersConfig?, tls: Bool) -> HTTPResponseHead {
        var h = HTTPHeaders()
        if let contentType { h.add("Content-Type", contentType); h.add("Cache-Control", "no-store") }
        for f in extra { h.add(f.name, f.value) }
        h.add("Content-Length", String(bodyLength))
        ResponseFinish.apply(&h, requestID: requestID, stageFields: stageFields, headersConfig: headersConfig, tls: tls)
        return HTTPResponseHead(status: status, headers: h)
    }

    /// A `GatewayError` as its JSON body and head (with `Retry-After` and the error's own fields).
    /// A 429 or 503 that asks for a longer wait than `retryAfterCap` seconds also says
    /// `x-should-retry: false`: the official SDKs would otherwise sleep through a 1 h Retry-After.
    package static func error(_ e: GatewayError, requestID: String, stageFields: HTTPHeaders = HTTPHeaders(), headersConfig: HeadersConfig?,
                      tls: Bool, retryAfterCap: Int = 60) -> (head: HTTPResponseHead, body: [UInt8]) {
        let body = e.body(requestID: requestID)
        var extra: [HTTPField] = []
        if let seconds = e.retryAfterSeconds {
            extra.append(HTTPField(name: "Retry-After", value: String(max(1, seconds))))
            if (e.status == 429 || e.status == 503) && seconds > retryAfterCap { extra.append(HTTPField(name: "x-should-retry", value: "false")) }
        }
        extra += e.extraHeaders
        return (head(status: e.status, contentType: "application/json", bodyLength: body.count, requestID: requestID, extra: extra,
                     stageFields: stageFields, headersConfig: headersConfig, tls: tls), body)
    }
}

extension ResponseFinish {
    /// An upstream's head as the client gets it: hop-by-hop hygiene, Via and the request id, then
    /// the finishing step (filters' fields, security headers last so they win). An event stream
    /// gets `X-Accel-Buffering: no` and is re-framed (chunked): Rampart may add events to it
    /// (`save_status`, an error event), never written past the upstream's Content-Length.
    static func proxied(_ upstream: consuming HTTPResponseHead, ctx: RequestContext, tls: Bool) -> (head: HTTPResponseHead, eventStream: Bool) {
        let status = upstream.status
        var eventStream = false
        var headers = ForwardingHeaders.clientResponseHeaders(upstream.takeHeaders(), requestID: ctx.id, eventStream: &eventStream)
        if eventStream {
            headers.remove("Content-Length")
            headers.set("X-Accel-Buffering", "no")
        }
        apply(&headers, stageFields: ctx.responseHeaders, headersConfig: ctx.plan.headers, tls: tls)
        return (HTTPResponseHead(status: status, headers: headers), eventStream)
    }

    /// An upstream's response held back whole by a filter and then let through (a provider's
    /// JSON error): framed by its length now, whatever its framing was.
    static func proxied(_ upstream: HTTPResponseHead, whole body: [UInt8], ctx: RequestContext, tls: Bool) -> HTTPResponseHead {
        var head = proxied(upstream, ctx: ctx, tls: tls).head
        head.headers.set("Content-Length", String(body.count))
        return head
    }
}

extension LocalReply {
    /// A response kept earlier (an idempotent replay), marked `Idempotent-Replayed: true` and
    /// finished with this request's fields.
    static func replayed(_ stored: StoredResponse, ctx: RequestContext, tls: Bool) -> HTTPResponseHead {
        var h = HTTPHeaders(stored.headers)
        h.set("Content-Length", String(stored.body.count))
        h.set("Idempotent-Replayed", "true")
        ResponseFinish.apply(&h, requestID: ctx.requestID, stageFields: ctx.responseHeaders, headersConfig: ctx.plan.headers, tls: tls)
        return HTTPResponseHead(status: stored.status, headers: h)
    }
}

extension LocalReply {
    /// A success a request filter gives itself (a CORS preflight): no body, the stage's fields.
    static func answer(status: Int, extra: [HTTPField], ctx: RequestContext, tls: Bool) -> (head: HTTPResponseHead, body: [UInt8]) {
        var fields = ctx.responseHeaders
        for f in extra { fields.add(f) }
        return (head(status: status, contentType: nil, bodyLength: 0, requestID: ctx.requestID, stageFields: fields,
                     headersConfig: ctx.plan.headers, tls: tls), [])
    }
}
