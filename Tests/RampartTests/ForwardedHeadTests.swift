import Foundation
import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing

/// A proxied head written in one pass (`ResponseFinish.forwarded`, `ForwardedResponseHead`) is
/// byte for byte the head the full finishing step and the connection's edits give
/// (`ResponseFinish.proxied`, `HTTP1ServerMachine.responseHead`): over header configs, upstream
/// heads, client versions and methods, TLS, route fields and a draining process. Heads the one
/// pass cannot take fall back with the upstream head untouched.
@Suite struct ForwardedHeadTests {
    static let config = #"""
    {"logging": {"level": "error", "access_log": false},
     "upstreams": {"app": {"url": "http://127.0.0.1:9"}},
     "headers": {"set": {"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY",
                         "X-Content-Type-Options": "nosniff", "Referrer-Policy": "origin-when-cross-origin"}},
     "routes": [
       {"name": "plain", "match": {"path_prefix": "/plain"}, "upstream": "app"},
       {"name": "removes", "match": {"path_prefix": "/removes"}, "upstream": "app",
        "headers": {"remove": ["Server", "X-Powered-By"]}},
       {"name": "if-absent", "match": {"path_prefix": "/if-absent"}, "upstream": "app", "headers": {"mode": "if_absent"}},
       {"name": "report-only", "match": {"path_prefix": "/report-only"}, "upstream": "app", "headers": {"csp_report_only": true}},
       {"name": "hsts", "match": {"path_prefix": "/hsts"}, "upstream": "app",
        "headers": {"set": {"Strict-Transport-Security": "max-age=60"}}},
       {"name": "sets-framing", "match": {"path_prefix": "/sets-framing"}, "upstream": "app",
        "headers": {"set": {"Connection": "close"}}},
       {"name": "removes-via", "match": {"path_prefix": "/removes-via"}, "upstream": "app", "headers": {"remove": ["Via"]}}]}
    """#

    static let routes = ["/plain", "/removes", "/if-absent", "/report-only", "/hsts", "/sets-framing", "/removes-via"]

    static let upstreamHeads: [String] = [
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 07 Dec 2026 05:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Powered-By: php\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\nProxy-Status: x\r\nProxy-Authentication-Info-Extra: y\r\n\r\n",
        "HTTP/1.1 201 Created\r\nConnection: x-secret, close\r\nX-Secret: 1\r\nX-Request-Id: upstream-id\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 12\r\n\r\n",
        "HTTP/1.1 200 Fine Thanks\r\nContent-Type: application/json\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Security-Policy: none\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=1\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nVia: 1.1 cdn\r\nContent-Length: 1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\nContent-Length: 2\r\nUpgrade: h2c\r\nTE: trailers\r\n\r\n",
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 3\r\n\r\n",
    ]

    static let stages: [HTTPHeaders] = {
        var rate = HTTPHeaders()
        rate.add(literal: "RateLimit-Policy", literal: "\"default\";q=100;w=60")
        rate.add(literal: "RateLimit", literal: "\"default\";r=99;t=60")
        var cors = HTTPHeaders()
        cors.add(literal: "Vary", literal: "Origin")
        cors.add("Access-Control-Allow-Origin", "https://app.example")
        var framing = HTTPHeaders()
        framing.add("Content-Length", "7")
        return [HTTPHeaders(), rate, cors, framing]
    }()

    @Test func theOnePassWritesWhatTheFullStepWrites() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        var onePass = 0, fellBack = 0
        for route in Self.routes {
            for raw in Self.upstreamHeads {
                for request in ["GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"] {
                    for tls in [false, true] {
                        for (s, stage) in Self.stages.enumerated() {
                            for shuttingDown in [false, true] {
                                let label = "\(route) #\(Self.upstreamHeads.firstIndex(of: raw)!) \(request.prefix(4)) tls \(tls) stage \(s) drain \(shuttingDown)"
                                let method = String(request.prefix { $0 != " " })
                                let upstream = try Self.parse(raw, method: method)
                                let ctx = try Self.context(rig, route: route, requestID: "01ABC\u{7F}id")
                                ctx.responseHeaders = stage

                                var full = Self.machine(request)
                                var expected = ResponseFinish.proxied(upstream, ctx: ctx, tls: tls).head
                                #expect(full.responseHead(&expected, shuttingDown: shuttingDown), "\(label)")

                                var taken = upstream
                                let client = ForwardedHeadRecorder(tls: tls)
                                guard ResponseFinish.sendForwarded(&taken, ctx: ctx, to: client), let forwarded = client.forwarded.take() else {
                                    fellBack += 1
                                    #expect(taken == upstream, "a head that falls back is untouched: \(label)")
                                    continue
                                }
                                onePass += 1
                                // The framing noted in the one pass is what a count over the kept fields gives.
                                let noted = forwarded.framingFields, counted = FramingFields(forwarded.upstream, skipping: forwarded.dropped)
                                #expect(noted.contentLengthCount == counted.contentLengthCount && noted.length == counted.length
                                        && noted.transferEncodingCount == counted.transferEncodingCount && noted.chunkedOnly == counted.chunkedOnly,
                                        "\(label)")
                                var fast = Self.machine(request)
                                let answer = fast.forwardedHead(status: forwarded.status, fields: forwarded.framingFields, shuttingDown: shuttingDown)
                                let edits = try #require(answer, "\(label)")
                                let written = Self.write(forwarded, edits: edits)
                                #expect(String(decoding: written, as: UTF8.self) == String(decoding: expected.serialized(), as: UTF8.self), "\(label)")
                                #expect(written.count <= forwarded.serializedSizeBound, "\(label)")
                                #expect(fast.responseFraming == full.responseFraming && fast.bodyRemaining == full.bodyRemaining
                                        && fast.keepAlive == full.keepAlive, "\(label)")
                                var listed = forwarded.materialized()
                                edits.apply(to: &listed.headers)
                                #expect(listed.serialized() == expected.serialized(), "materialized: \(label)")
                            }
                        }
                    }
                }
            }
        }
        // Both ways were exercised: the usual head takes the one pass, the rest fall back.
        #expect(onePass > 1000 && fellBack > 1000, "one pass \(onePass), fell back \(fellBack)")
    }

    /// The benchmark's head (nginx upstream, five security headers) takes the one pass.
    @Test func theUsualHeadTakesTheOnePass() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        var head = try Self.parse(Self.upstreamHeads[0], method: "GET")
        let client = try Self.sendPlain(&head, rig)
        guard let forwarded = client.forwarded.take() else { Issue.record("no head was sent"); return }
        #expect(forwarded.dropped == 1 << 4, "only Connection stays behind")
        #expect(head.headers.isEmpty, "the upstream's fields moved into the forwarded head")
    }

    /// `Proxy-*` fields speak to one hop, whatever their length: none reaches the client or the
    /// upstream (the known ones are at most 25 bytes; these are longer).
    @Test func proxyFieldsOfAnyLengthStayBehind() throws {
        let rig = try UpstreamDeadlineRig(config: Self.config)
        defer { rig.stop() }
        var head = try Self.parse(Self.upstreamHeads[1], method: "GET")
        let client = try Self.sendPlain(&head, rig)
        guard let forwarded = client.forwarded.take() else { Issue.record("no head was sent"); return }
        let written = String(decoding: Self.write(forwarded, edits: HeadEdits()), as: UTF8.self)
        #expect(!written.lowercased().contains("proxy-"), "\(written)")
        #expect(written.contains("X-Powered-By: php"))

        let request = HTTPRequestHead(method: "GET", target: "/", headers: ["Host": "gw", "Proxy-Authorization-Override": "x",
                                                                           "Proxy-Connection": "keep-alive", "Accept": "*/*"])
        var fields = ForwardedRequestFields(request.headers)
        ForwardingHeaders.forwardRequest(request, into: &fields, peerIP: [127, 0, 0, 1], peerText: "127.0.0.1", trustedProxies: [],
                                         requestID: "01ABC", authority: "app:80", https: false, tls: false)
        let sent = fields.materialized()
        #expect(sent.fields.map(\.name) == ["Host", "Accept", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Via", "X-Request-Id"])
    }

    /// Sends `head` to a plain-HTTP client on `/plain` as the exchange does; the recorder holds
    /// what was sent.
    static func sendPlain(_ head: inout HTTPResponseHead, _ rig: UpstreamDeadlineRig) throws -> ForwardedHeadRecorder {
        let ctx = try context(rig, route: "/plain", requestID: "01ABC")
        let client = ForwardedHeadRecorder(tls: false)
        #expect(ResponseFinish.sendForwarded(&head, ctx: ctx, to: client))
        return client
    }

    static func parse(_ raw: String, method: String) throws -> HTTPResponseHead {
        let bytes = Array(raw.utf8)
        guard case .complete(let head, _, _, _) = bytes.withUnsafeBytes({ HTTPResponseParser.parseHead($0, requestMethod: method) }) else {
            throw RigFailure("the upstream head did not parse: \(raw)")
        }
        return head
    }

    static func context(_ rig: UpstreamDeadlineRig, route path: String, requestID: String) throws -> RequestContext {
        let active = rig.context.active
        let hit = try #require(active.routes.match(method: "GET", path: path))
        return RequestContext(head: HTTPRequestHead(method: "GET", target: path, framing: .none), plan: active.plans[hit.index],
                              config: active.config, requestID: RequestID(requestID), peerIP: [127, 0, 0, 1], peerText: "127.0.0.1",
                              server: rig.context)
    }

    /// A server machine that has read `request` and awaits its response.
    static func machine(_ request: String) -> HTTP1ServerMachine {
        let settings = HTTP1ServerMachine.Settings(limits: HTTPLimits(), headerTimeoutNs: 1_000_000_000, bodyTimeoutNs: 1_000_000_000,
                                                   keepaliveTimeoutNs: 1_000_000_000)
        var m = HTTP1ServerMachine(settings: settings, now: 0)
        _ = Array(request.utf8).withUnsafeBytes { m.read($0, now: 0) }
        return m
    }

    static func write(_ head: borrowing ForwardedResponseHead, edits: HeadEdits) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: head.serializedSizeBound)
        let n = out.withUnsafeMutableBufferPointer { head.serialize(to: $0.baseAddress!, edits: edits) }
        return Array(out[..<n])
    }
}

/// A client stream that keeps the forwarded head it is sent.
final class ForwardedHeadRecorder: SilentClientStream {
    let tls: Bool
    var forwarded: ForwardedResponseHead?
    init(tls: Bool) { self.tls = tls }
    override var isTLS: Bool { tls }
    override var acceptsForwardedHead: Bool { true }
    override func sendForwardedHead(_ head: consuming ForwardedResponseHead) { forwarded = consume head }
    override func sendHead(_ head: HTTPResponseHead) { Issue.record("the one pass sends a forwarded head") }
}
