import RampartHTTP
import RampartLoop
import RampartTransport

/// Idempotency keys (SPEC §7.4, IETF draft-ietf-httpapi-idempotency-key-header): the first completed
/// response per (identity, key) is kept for `ttl` and replayed to retries, so a client that lost the
/// answer to a POST can safely send it again without the upstream acting twice.
///
/// A record is keyed by the caller's identity ("user:u1", "ip:1.2.3.4") as well as the key, so one
/// user's key can never replay another user's response. It carries the request's fingerprint so a
/// key reused for a different request is refused instead of answered with the wrong response.

/// The response kept for replay.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [HTTPField]
    public var body: [UInt8]

    public init(status: Int, headers: [HTTPField], body: [UInt8]) {
        self.status = status; self.headers = headers; self.body = body
    }
}

/// What `begin` found.
public enum IdempotencyBegin: Sendable, Equatable {
    /// No record: one was created as in-flight. The caller must `complete` or `abandon` it.
    case proceed
    /// A completed record with the same fingerprint: send this response (with `Idempotent-Replayed: true`).
    case replay(StoredResponse)
    /// The same request is still running elsewhere: 409 `IDEMPOTENCY_IN_PROGRESS`.
    case inProgress
    /// The key was used for a different request: 422 `IDEMPOTENCY_MISMATCH`.
    case mismatch
}

/// The store could not answer (Redis down or timing out, or a record it cannot read). The caller
/// applies `store.on_unavailable`: forward without idempotency protection, or refuse with 503.
public struct IdempotencyStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "idempotency store: \(reason)" }
}

/// One loop's view of the idempotency records: the process-wide memory store or that loop's Redis
/// store. Call on the loop thread; completions run on it (the memory store answers synchronously,
/// Redis later) and are called exactly once.
public protocol IdempotencyStore: AnyObject {
    /// Atomically looks the record up and, when there is none, creates it as in-flight.
    /// `fingerprint` identifies the request (see `IdempotencyFingerprint`); `ttl` (seconds) is the
    /// route's retention; `now` is unix seconds (Rampart's clock; the memory store's only time base).
    func begin(identity: String, key: String, fingerprint: String, ttl: Double, now: Double,
               completion: @escaping (Result<IdempotencyBegin, IdempotencyStoreError>) -> Void)
    /// Stores the response for `ttl` seconds (replacing the in-flight record). A body above the
    /// store's `maxBodyBytes` is not stored and the key is released instead, so a retry runs again.
    func complete(identity: String, key: String, fingerprint: String, response: StoredResponse, ttl: Double, now: Double)
    /// The request failed before a response worth keeping: frees the key, but only while it is still
    /// in-flight (a completed record is never dropped by a late abandon).
    func abandon(identity: String, key: String)
}

extension IdempotencyStore {
    /// `complete` under a route's own body limit (`IdempotencyConfig.maxBodyBytes`): a larger
    /// response is not kept and the key is released, as the draft allows, rather than truncated.
    public func complete(identity: String, key: String, fingerprint: String, response: StoredResponse,
                         ttl: Double, now: Double, maxBodyBytes: Int) {
        if response.body.count > maxBodyBytes {
            abandon(identity: identity, key: key)
        } else {
            complete(identity: identity, key: key, fingerprint: fingerprint, response: response, ttl: ttl, now: now)
        }
    }
}

/// The request fingerprint: sha256 (hex) of method, path and body. Method and path cannot contain a
/// newline, so the separators make the encoding unambiguous.
public enum IdempotencyFingerprint {
    public static func of(method: String, path: String, body: [UInt8]) -> String {
        var message = Array(method.utf8)
        message.append(0x0A)
        message.append(contentsOf: path.utf8)
        message.append(0x0A)
        message.append(contentsOf: body)
        return SHA256.hex(message)
    }
}
