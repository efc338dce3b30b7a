import RampartHTTP
@testable import RampartProxy
import Testing

/// The one-pass header plan must give exactly what applying the rules one by one gives (removals,
/// HSTS over TLS, then each `set` in order), since it replaced that on every response.
@Suite struct SecurityHeadersPlanTests {
    /// The rules one by one, as SPEC §6.1 states them: the reference the plan is held to.
    static func reference(_ c: HeadersConfig, _ h: HTTPHeaders, tls: Bool) -> HTTPHeaders {
        var h = h
        for name in c.remove { h.remove(name) }
        if tls && !c.setsHSTS && !h.contains("Strict-Transport-Security") {
            h.add("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        }
        for (field, displacesCSP) in c.resolvedSet {
            if displacesCSP { h.remove("Content-Security-Policy") }
            switch c.mode {
            case .override: h.set(field.name, field.value)
            case .ifAbsent: if !h.contains(field.name) { h.add(field.name, field.value) }
            }
        }
        return h
    }

    static let upstreams: [HTTPHeaders] = [
        [:],
        ["Content-Type": "text/html", "Server": "nginx", "X-Powered-By": "Express"],
        ["x-frame-options": "SAMEORIGIN", "Content-Type": "text/plain", "X-FRAME-OPTIONS": "ALLOW", "Vary": "Accept"],
        ["Content-Security-Policy": "default-src *", "strict-transport-security": "max-age=5", "Set-Cookie": "a=1"],
        ["Referrer-Policy": "unsafe-url", "Set-Cookie": "a=1", "Referrer-Policy": "origin", "Set-Cookie": "b=2"],
    ]

    static let configs: [HeadersConfig] = [
        HeadersConfig(set: [("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
                            ("Content-Security-Policy", "default-src 'self'")], remove: ["Server", "X-Powered-By"]),
        HeadersConfig(set: [("X-Frame-Options", "DENY"), ("Content-Security-Policy", "default-src 'self'")],
                      mode: .ifAbsent, remove: ["server"]),
        HeadersConfig(set: [("Content-Security-Policy", "default-src 'none'"), ("X-Content-Type-Options", "nosniff")],
                      cspReportOnly: true),
        HeadersConfig(set: [("Strict-Transport-Security", "max-age=63072000")], remove: ["X-Powered-By"]),
        HeadersConfig(set: [], remove: ["strict-transport-security", "set-cookie"]),
    ]

    @Test(arguments: 0..<configs.count)
    func onePassEqualsRuleByRule(config: Int) {
        let c = Self.configs[config]
        #expect(c.plan != nil)
        for h in Self.upstreams {
            for tls in [false, true] {
                var got = h
                SecurityHeaders.apply(c, to: &got, tls: tls)
                let want = Self.reference(c, h, tls: tls)
                #expect(got.fields.map { "\($0.name): \($0.value)" } == want.fields.map { "\($0.name): \($0.value)" },
                        "config \(config), tls \(tls), upstream \(h.fields)")
            }
        }
    }

    /// Orders that could matter (a name both removed and set, a name set twice) keep the rule-by-rule path.
    @Test func orderSensitiveConfigsKeepTheRuleByRulePath() {
        #expect(HeadersConfig(set: [("X-A", "1")], remove: ["x-a"]).plan == nil)
        #expect(HeadersConfig(set: [("X-A", "1"), ("x-a", "2")]).plan == nil)
        var h: HTTPHeaders = ["X-A": "0", "X-B": "b"]
        SecurityHeaders.apply(HeadersConfig(set: [("X-A", "1"), ("x-a", "2")]), to: &h)
        #expect(h.fields.map(\.value) == ["2", "b"])
    }

    /// Config fields are checked once, so the serialiser copies them; a value with a CR is not
    /// marked checked and is still cleaned on the wire.
    @Test func checkedFieldsAreMarkedOnlyWhenSafe() {
        #expect(HTTPField.checked(name: "X-Frame-Options", value: "DENY").isWireChecked)
        #expect(!HTTPField.checked(name: "X-Bad", value: "a\r\nInjected: 1").isWireChecked)
        #expect(!HTTPField.checked(name: "Bad Name", value: "v").isWireChecked)
        var f = HTTPField.checked(name: "X-A", value: "ok")
        f.value = "changed\r\n"
        #expect(!f.isWireChecked)
        let head = HTTPResponseHead(status: 200, headers: HTTPHeaders([HTTPField.checked(name: "X-Bad", value: "a\r\nInjected: 1")]))
        let text = String(decoding: head.serialized(), as: UTF8.self)
        #expect(text.contains("X-Bad: a  Injected: 1\r\n"))
    }
}
