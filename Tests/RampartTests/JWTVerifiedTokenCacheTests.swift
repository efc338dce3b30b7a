import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
import Testing

/// The verified-token cache gives every token the verdict a fresh verifier would give: the time
/// window is checked on each use, failures are never kept, and it stays within its bounds.
@Suite struct JWTVerifiedTokenCacheTests {
    typealias F = JWTFixture

    /// The verdict and message a verifier that never saw the token gives.
    static func fresh(_ token: String, now: Double) throws -> Result<VerifiedIdentity, JWTError> {
        try F.verifier().verify(token, now: now)
    }

    @Test func aTokenSeenAgainGetsTheSameIdentityFromTheCache() throws {
        let verifier = try F.verifier()
        let token = F.hs256()
        let first = verifier.verify(token, now: F.now)
        #expect(verifier.verified.count == 1)
        let again = verifier.verify(token, now: F.now + 1)
        #expect(again == first && (try? again.get().user) == "user-1")
        #expect(verifier.verified.count == 1)
    }

    @Test func expiryIsCheckedOnEveryUseAndTheEntryThenGoes() throws {
        let verifier = try F.verifier()   // leeway 30 s; the fixture's exp is now + 600
        let token = F.rs256()
        #expect((try? verifier.verify(token, now: F.now).get()) != nil)
        let late = F.now + 600 + 30
        #expect(verifier.verify(token, now: late - 0.5) == (try Self.fresh(token, now: late - 0.5)))
        let expired = verifier.verify(token, now: late)
        #expect(expired == (try Self.fresh(token, now: late)), "the same reason and message as a full verification")
        #expect(F.reason(verifier, token, now: late) == .expired)
        #expect(verifier.verified.count == 0, "an expired token frees its slot")
    }

    @Test func notYetValidIsCheckedOnEveryUse() throws {
        let verifier = try F.verifier()
        let token = F.es256(#"{"sub": "user-1", "iss": "https://auth.example.com", "aud": "app", "nbf": 1700000100}"#)
        #expect(F.reason(verifier, token, now: F.now) == .notYetValid)
        #expect(verifier.verified.count == 0, "a refusal is never kept")
        #expect(F.reason(verifier, token, now: F.now + 100) == nil)
        #expect(verifier.verified.count == 1)
        #expect(verifier.verify(token, now: F.now) == (try Self.fresh(token, now: F.now)), "earlier again: refused again")
    }

    @Test func refusedTokensAreNeverKeptAndOneChangedByteIsNotAHit() throws {
        let verifier = try F.verifier()
        let good = F.hs256()
        #expect(F.reason(verifier, good) == nil)
        var bytes = Array(good.utf8)
        bytes[bytes.count - 2] = bytes[bytes.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let tampered = String(decoding: bytes, as: UTF8.self)
        #expect(F.reason(verifier, tampered) == .badSignature)
        #expect(F.reason(verifier, F.hs256(key: Array("another-secret-0123456789abcdef".utf8))) == .badSignature)
        #expect(verifier.verified.count == 1, "only the good token")
    }

    @Test func theCacheStaysWithinItsBounds() throws {
        let cache = VerifiedTokenCache(capacity: 8, maxTokenBytes: 64)
        let entry = VerifiedTokenCache.Entry(identity: VerifiedIdentity(user: "u", claims: .object([])), window: JWTTimeWindow(exp: nil, nbf: nil))
        for i in 0..<100 { cache.insert("token-\(i)", entry) }
        #expect(cache.count == 8)
        #expect(cache.lookup("token-99") != nil, "the newest is kept")
        let long = String(repeating: "x", count: 65)
        cache.insert(long, entry)
        #expect(cache.lookup(long) == nil && cache.count == 8, "a token over the size bound is verified every time, never kept")
    }

    /// The cache hashes a token's last 32 bytes only; tokens that share them are still told apart.
    @Test func tokensWithTheSameEndAreDifferentEntries() {
        let cache = VerifiedTokenCache(capacity: 8)
        let tail = String(repeating: "s", count: 40)
        let window = JWTTimeWindow(exp: nil, nbf: nil)
        cache.insert("a." + tail, .init(identity: VerifiedIdentity(user: "alice", claims: .null), window: window))
        cache.insert("b." + tail, .init(identity: VerifiedIdentity(user: "bob", claims: .null), window: window))
        #expect(cache.lookup("a." + tail)?.identity.user == "alice")
        #expect(cache.lookup("b." + tail)?.identity.user == "bob")
        #expect(cache.lookup("c." + tail) == nil)
        #expect(cache.count == 2)
    }
}
