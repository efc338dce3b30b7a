import RampartHTTP
import RampartLoop

/// Tokens that verified, by their exact text, with the time claims to check again on each use.
///
/// A client sends the same token on every request for its lifetime, and verifying it (base64,
/// two JSON parses, an HMAC or RSA/ECDSA check) cost about 50,000 instructions a request, most
/// of the whole pipeline's cost. Envoy's jwt_authn keeps the same cache. A verifier's keys and
/// rules are fixed (a reload builds a new verifier, and with it an empty cache), so a token that
/// verified once verifies again: only `exp` and `nbf` depend on the time, and they are checked
/// on every hit. The key is the whole token (a hash alone could let a colliding token in), so
/// only tokens up to `maxTokenBytes` are kept, and at most `capacity` of them.
final class VerifiedTokenCache: Sendable {
    struct Entry: Sendable {
        let identity: VerifiedIdentity
        let window: JWTTimeWindow
    }

    let capacity: Int
    let maxTokenBytes: Int
    private let entries: Lock<[TokenKey: Entry]>

    init(capacity: Int = 1024, maxTokenBytes: Int = 4096) {
        self.capacity = max(1, capacity)
        self.maxTokenBytes = maxTokenBytes
        entries = Lock([:])
    }

    func lookup(_ token: String) -> Entry? {
        guard token.utf8.count <= maxTokenBytes else { return nil }
        let key = TokenKey(token)
        return entries.withLock { $0[key] }
    }

    /// Keeps a token that just verified. When full, an arbitrary entry makes room: the cache only
    /// saves work, and a client whose token was dropped pays one full verification.
    func insert(_ token: String, _ entry: Entry) {
        guard token.utf8.count <= maxTokenBytes else { return }
        let key = TokenKey(token)
        entries.withLock { e in
            if e.count >= capacity, e[key] == nil { e.remove(at: e.startIndex) }
            e[key] = entry
        }
    }

    /// Drops a token whose time window has passed for good (expired), so it stops taking a slot.
    func remove(_ token: String) { _ = entries.withLock { $0.removeValue(forKey: TokenKey(token)) } }

    var count: Int { entries.withLock { $0.count } }
}

/// A token as the cache's key: equal when the whole token is, hashed on its last 32 bytes only. A
/// JWT ends with its signature, which differs between any two tokens the cache holds (it only
/// holds tokens that verified, so no one can fill it with colliding ones), and hashing 32 bytes
/// instead of a whole token (hundreds of bytes) is what every request of a JWT route pays.
struct TokenKey: Hashable, Sendable {
    let token: String

    init(_ token: String) { self.token = token }

    static func == (a: TokenKey, b: TokenKey) -> Bool { a.token == b.token }

    func hash(into hasher: inout Hasher) {
        HTTPHeaders.withBytes(token) { b in
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[Swift.max(0, b.count - 32)...])))
            hasher.combine(b.count)
        }
    }
}
