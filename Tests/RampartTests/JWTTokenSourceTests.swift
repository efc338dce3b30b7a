import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Where the token comes from: the Bearer header first, then the configured cookie.
@Suite struct JWTTokenSourceTests {
    /// Both ways in: from the values as Strings, and from a head's fields (the filter's way, which
    /// reads the header's bytes in place); they must agree on every case.
    static func token(_ authorization: String?, _ cookies: String? = nil, _ name: String? = "__session") -> String? {
        let fromValues = JWTVerifier.token(fromAuthorization: authorization, cookieHeader: cookies, cookieName: name)
        var headers = HTTPHeaders()
        headers.add("Host", "app")
        if let cookies { headers.add("Cookie", cookies) }
        if let authorization { headers.add("authorization", authorization) }
        let fromHead = JWTVerifier.token(in: headers, header: "Authorization", cookieName: name)
        #expect(fromHead == fromValues, "\(String(describing: authorization)) \(String(describing: cookies))")
        return fromValues
    }

    @Test func bearerSchemeIsCaseInsensitive() {
        #expect(Self.token("Bearer abc.def.ghi") == "abc.def.ghi")
        #expect(Self.token("bearer abc.def.ghi") == "abc.def.ghi")
        #expect(Self.token("BEARER   abc.def.ghi  ") == "abc.def.ghi")
    }

    @Test func otherSchemesAndEmptyTokensAreNotTokens() {
        #expect(Self.token("Basic dXNlcjpwYXNz") == nil)
        #expect(Self.token("Bearer") == nil)
        #expect(Self.token("Bearer ") == nil)
        #expect(Self.token("Bearerabc.def.ghi") == nil)
        #expect(Self.token("Bearer a b") == nil)
        #expect(Self.token("abc.def.ghi") == nil)
    }

    @Test func cookieIsFoundAmongSeveral() {
        let cookies = "theme=dark; __session_old=stale; __session=abc.def.ghi; other=1"
        #expect(Self.token(nil, cookies) == "abc.def.ghi")
        #expect(Self.token(nil, "__session=\"q.u.o\"") == "q.u.o")
        #expect(Self.token(nil, "a=1;__session=x.y.z") == "x.y.z")
        #expect(Self.token(nil, "x__session=abc; session=def") == nil)
        #expect(Self.token(nil, "__session=") == nil)
        #expect(Self.token(nil, cookies, nil) == nil)
    }

    @Test func headerWinsOverCookieAndNonBearerFallsBackToCookie() {
        #expect(Self.token("Bearer from.header.t", "__session=from.cookie.t") == "from.header.t")
        #expect(Self.token("Basic dXNlcjpwYXNz", "__session=from.cookie.t") == "from.cookie.t")
        #expect(Self.token(nil, nil) == nil)
    }
}
