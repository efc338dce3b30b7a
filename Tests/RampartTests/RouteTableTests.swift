import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

@Suite struct RouteTableTests {
    /// Builds a table from route JSON objects through the real loader, so tests match production.
    private func table(_ routes: String) throws -> RouteTable {
        RouteTable(try ConfigFixture.load(ConfigFixture.app(#""routes": ["# + routes + "]")).routes)
    }

    private func names(_ hit: RouteHit?) -> String? { hit?.route.name }

    @Test func exactPath() throws {
        let t = try table(#"{"name": "chat", "match": {"path": "/api/ai/chat"}}"#)
        #expect(names(t.match(method: "POST", path: "/api/ai/chat")) == "chat")
        #expect(t.match(method: "POST", path: "/api/ai/chat/") == nil)
        #expect(t.match(method: "POST", path: "/api/ai/chatx") == nil)
        #expect(t.match(method: "POST", path: "/api/ai") == nil)
        #expect(names(t.match(method: "POST", path: "/api/ai/chat?x=1")) == "chat")
    }

    @Test func templateCapturesParams() throws {
        let t = try table(#"{"name": "ch", "match": {"path": "/api/books/{bookId}/chapters/{chapterId}"}}"#)
        let hit = try #require(t.match(method: "GET", path: "/api/books/b1/chapters/c%2042"))
        #expect(hit.index == 0 && hit.route.name == "ch")
        #expect(hit.params.map(\.name) == ["bookId", "chapterId"])
        #expect(hit.params.map(\.value) == ["b1", "c%2042"])
        #expect(hit.param("chapterId") == "c%2042" && hit.param("nope") == nil)
        #expect(t.match(method: "GET", path: "/api/books//chapters/c1") == nil)       // empty segment
        #expect(t.match(method: "GET", path: "/api/books/b1/chapters") == nil)        // too short
        #expect(t.match(method: "GET", path: "/api/books/b1/chapters/c1/x") == nil)   // too long
        #expect(t.match(method: "GET", path: "/api/books/b1/chapters/c1/") == nil)    // trailing slash
        #expect(t.match(method: "GET", path: "/api/bookz/b1/chapters/c1") == nil)
        #expect(t.match(method: "GET", path: "api/books/b1/chapters/c1") == nil)
    }

    @Test func templateWithParamAtStartAndTrailingLiteral() throws {
        let t = try table(#"{"name": "t", "match": {"path": "/{tenant}/save"}}"#)
        #expect(t.match(method: "PUT", path: "/acme/save")?.params.first?.value == "acme")
        #expect(t.match(method: "PUT", path: "//save") == nil)
        #expect(t.match(method: "PUT", path: "/acme/save?draft=1")?.param("tenant") == "acme")
    }

    @Test func prefix() throws {
        let t = try table(#"{"name": "auth", "match": {"path_prefix": "/api/auth/"}}"#)
        #expect(names(t.match(method: "GET", path: "/api/auth/login")) == "auth")
        #expect(names(t.match(method: "GET", path: "/api/auth/")) == "auth")
        #expect(t.match(method: "GET", path: "/api/auth") == nil)
        #expect(t.match(method: "GET", path: "/api/other") == nil)
    }

    @Test func methods() throws {
        let t = try table(#"{"name": "post", "match": {"methods": ["post", "PUT"], "path": "/x"}}, {"name": "any", "match": {"path": "/x"}}"#)
        #expect(names(t.match(method: "POST", path: "/x")) == "post")
        #expect(names(t.match(method: "PUT", path: "/x")) == "post")
        #expect(names(t.match(method: "GET", path: "/x")) == "any")
        #expect(names(t.match(method: "DELETE", path: "/x")) == "any")
    }

    @Test func firstMatchWins() throws {
        let t = try table(#"{"name": "gen", "match": {"path": "/api/ai/generate/chapter"}},"#
            + #"{"name": "ai", "match": {"path_prefix": "/api/ai/"}},"#
            + #"{"name": "gen2", "match": {"path": "/api/ai/generate/chapter"}},"#
            + #"{"name": "default", "match": {"path_prefix": "/"}}"#)
        let hit = t.match(method: "POST", path: "/api/ai/generate/chapter")
        #expect(hit?.index == 0 && names(hit) == "gen")
        #expect(t.match(method: "POST", path: "/api/ai/chat")?.index == 1)
        #expect(t.match(method: "GET", path: "/index.html")?.index == 3)
    }

    @Test func noMatch() throws {
        let t = try table(#"{"name": "a", "match": {"methods": ["GET"], "path": "/a"}}, {"name": "b", "match": {"path_prefix": "/b/"}}"#)
        #expect(t.match(method: "POST", path: "/a") == nil)
        #expect(t.match(method: "GET", path: "/c") == nil)
        #expect(t.match(method: "GET", path: "") == nil)
        #expect(RouteTable([]).match(method: "GET", path: "/") == nil)
    }
}
