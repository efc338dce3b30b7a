import Foundation
import Testing

/// Hop-by-hop fields in the response direction (RFC 9110 §7.6.1): whatever the upstream says
/// about its own connection (Connection and the fields it names, Keep-Alive, Proxy-*, Upgrade,
/// Trailer, Transfer-Encoding) stays on that hop. The client's framing is Rampart's own.
@Suite(.serialized) struct ResponseHopByHopTests {
    /// The same response head the TLS fixture's `/hop` sends.
    static let hopResponse = "HTTP/1.1 200 OK\r\n"
        + "Connection: keep-alive, X-Internal-Route\r\n"
        + "X-Internal-Route: db-7.internal\r\n"
        + "Keep-Alive: timeout=5, max=100\r\n"
        + "Proxy-Authenticate: Basic realm=\"internal\"\r\n"
        + "Proxy-Connection: keep-alive\r\n"
        + "Proxy-Authentication-Info: nextnonce=\"abc\"\r\n"
        + "Upgrade: h2c\r\n"
        + "Trailer: X-Checksum\r\n"
        + "X-Kept: yes\r\n"
        + "Content-Type: text/plain\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n"
        + "5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n"

    static let dropped = ["connection", "x-internal-route", "keep-alive", "proxy-authenticate", "proxy-connection",
                          "proxy-authentication-info", "upgrade", "trailer", "x-checksum"]

    /// What an HTTP/1.1 and an HTTP/1.0 client get from `path` through `rampart`.
    static func check(_ rampart: RampartProcess, path: String, _ what: String) throws {
        let keepAlive = try HTTPClient(port: rampart.port)
        try keepAlive.send(HTTPClient.requestText(method: "GET", path: path, close: false))
        let r = try keepAlive.readResponse()
        #expect(r.status == 200 && r.text == "hello", "\(what): \(r.status) \(r.text)")
        #expect(r.header("X-Kept") == "yes" && r.header("Content-Type") == "text/plain", "\(what): end-to-end fields pass")
        let names = r.headers.map { $0.0.lowercased() }
        for name in dropped { #expect(!names.contains(name), "\(what): \(name) was relayed: \(r.headers)") }
        #expect(r.headers("Transfer-Encoding") == ["chunked"], "\(what): one Transfer-Encoding, Rampart's own framing: \(r.headers)")

        // An HTTP/1.0 client gets no Transfer-Encoding at all: the body is close-delimited.
        let c = try HTTPClient(port: rampart.port)
        try c.send("GET \(path) HTTP/1.0\r\nHost: x\r\n\r\n")
        let old = try c.readResponse()
        #expect(old.status == 200 && old.text == "hello", "\(what), HTTP/1.0: \(old.text)")
        #expect(old.header("Transfer-Encoding") == nil && old.header("Upgrade") == nil && old.header("Keep-Alive") == nil,
                "\(what), HTTP/1.0: \(old.headers)")
        #expect(old.header("Connection") == "close", "\(what), HTTP/1.0: Rampart's own Connection only: \(old.headers)")
    }

    @Test(arguments: ["auto", "curl"])
    func hopByHopResponseFieldsStayOnTheUpstreamHop(transport: String) throws {
        let upstream = try RawUpstream(response: RawUpstream.fixed(Self.hopResponse))
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url, upstreamExtra: #""transport": "\#(transport)""#))
        try Self.check(rampart, path: "/hop", "http:// via \(transport)")
    }

    @Test func hopByHopResponseFieldsStayOnAnHTTPSUpstreamsHop() throws {
        let upstream = try TLSUpstream()
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url, upstreamExtra: #""tls_verify": false"#))
        try Self.check(rampart, path: "/hop", "https://")
    }
}
