import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

@Suite struct AdminTokensTests {
    @Test func fileLinesSkipBlanksAndComments() {
        #expect(AdminTokens.lines("# rotate on 2026-11-22\n  tok-a  \n\ntok-b\r\n#tok-c\n") == ["tok-a", "tok-b"])
    }

    @Test func acceptsAnyConfiguredTokenAndNothingElse() {
        let tokens = AdminTokens(["first-token", "second-token"])
        #expect(tokens.accepts(Array("first-token".utf8)) && tokens.accepts(Array("second-token".utf8)))
        #expect(!tokens.accepts(Array("first-toke".utf8)) && !tokens.accepts(Array("first-token!".utf8)) && !tokens.accepts([]))
        #expect(!AdminTokens([]).accepts([]), "no token configured accepts nothing; the listener decides whether that means open")
    }

    @Test func envAndFileTokensCombine() throws {
        let path = NSTemporaryDirectory() + "tokens-\(UUID().uuidString)"
        try "from-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokens = try AdminTokens.load(AdminConfig(listen: nil, tokenEnv: "T", tokenFile: path), environment: ["T": "from-env"])
        #expect(tokens.count == 2 && tokens.accepts(Array("from-env".utf8)) && tokens.accepts(Array("from-file".utf8)))
        #expect(throws: ActivationError.self) { try AdminTokens.load(AdminConfig(listen: nil, tokenEnv: nil, tokenFile: path + ".missing"), environment: [:]) }
    }

    @Test func configChecksTheTokenFile() throws {
        func errors(_ admin: String) -> [String] {
            let json = #"{"admin": \#(admin), "upstreams": {"app": {"url": "http://127.0.0.1:3000"}}, "routes": [{"name": "d", "match": {"path_prefix": "/"}}]}"#
            do { _ = try ConfigLoader.parse(bytes: Array(json.utf8)); return [] } catch { return error.errors.map(\.path) }
        }
        let path = NSTemporaryDirectory() + "tokens-\(UUID().uuidString)"
        try "tok\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(errors(#"{"listen": "0.0.0.0:9901", "token_file": "\#(path)"}"#).isEmpty, "a token file protects a public admin listener")
        #expect(errors(#"{"listen": "0.0.0.0:9901", "token_file": "\#(path).missing"}"#) == ["admin.token_file"])
        #expect(errors(#"{"listen": "0.0.0.0:9901"}"#) == ["admin.listen"])
    }
}
