import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The memory store's semantics, with time injected through `now` so ttl and the in-flight safety
/// timeout are crossed exactly without sleeping.
struct IdempotencyMemoryTests {
    let now = 1_700_000_000.0
    let fp = IdempotencyFingerprint.of(method: "POST", path: "/api/books", body: Array(#"{"title":"a"}"#.utf8))
    let other = IdempotencyFingerprint.of(method: "POST", path: "/api/books", body: Array(#"{"title":"b"}"#.utf8))
    let response = StoredResponse(status: 201, headers: [HTTPField(name: "Content-Type", value: "application/json"),
                                                        HTTPField(name: "Location", value: "/api/books/7")],
                                  body: Array(#"{"id":7}"#.utf8))

    private func begin(_ s: MemoryIdempotencyStore, _ identity: String = "user:u1", key: String = "k1",
                       fp fingerprint: String? = nil, ttl: Double = 60, at t: Double) -> IdempotencyBegin {
        var got: Result<IdempotencyBegin, IdempotencyStoreError>?
        s.begin(identity: identity, key: key, fingerprint: fingerprint ?? fp, ttl: ttl, now: t) { got = $0 }
        return try! #require(got).get()   // the memory store answers synchronously, never fails
    }

    @Test func freshKeyProceedsThenDuplicateIsInProgress() {
        let s = MemoryIdempotencyStore()
        #expect(begin(s, at: now) == .proceed)
        #expect(begin(s, at: now + 1) == .inProgress)
    }

    @Test func completedResponseReplaysExactly() {
        let s = MemoryIdempotencyStore()
        #expect(begin(s, at: now) == .proceed)
        s.complete(identity: "user:u1", key: "k1", fingerprint: fp, response: response, ttl: 60, now: now + 1)
        #expect(begin(s, at: now + 2) == .replay(response))
        #expect(begin(s, at: now + 3) == .replay(response))
    }

    @Test func differentRequestUnderSameKeyIsAMismatchInFlightAndAfter() {
        let s = MemoryIdempotencyStore()
        #expect(begin(s, at: now) == .proceed)
        #expect(begin(s, fp: other, at: now + 1) == .mismatch)
        s.complete(identity: "user:u1", key: "k1", fingerprint: fp, response: response, ttl: 60, now: now + 1)
        #expect(begin(s, fp: other, at: now + 2) == .mismatch)
    }

    @Test func keysArePerIdentity() {
        let s = MemoryIdempotencyStore()
        #expect(begin(s, "user:a", at: now) == .proceed)
        s.complete(identity: "user:a", key: "k1", fingerprint: fp, response: response, ttl: 60, now: now)
        #expect(begin(s, "user:b", at: now + 1) == .proceed)
        #expect(begin(s, "ip:1.2.3.4", at: now + 1) == .proceed)
        #expect(begin(s, "user:a", at: now + 1) == .replay(response))
    }

    @Test func completedRecordExpiresAfterTtl() {
        let s = MemoryIdempotencyStore()
        _ = begin(s, at: now)
        s.complete(identity: "user:u1", key: "k1", fingerprint: fp, response: response, ttl: 60, now: now)
        #expect(begin(s, at: now + 59.9) == .replay(response))
        #expect(begin(s, at: now + 60) == .proceed)
    }

    @Test func abandonFreesTheKeyButNeverDropsACompletedRecord() {
        let s = MemoryIdempotencyStore()
        _ = begin(s, at: now)
        s.abandon(identity: "user:u1", key: "k1")
        #expect(begin(s, at: now + 1) == .proceed)
        s.complete(identity: "user:u1", key: "k1", fingerprint: fp, response: response, ttl: 60, now: now + 1)
        s.abandon(identity: "user:u1", key: "k1")
        #expect(begin(s, at: now + 2) == .replay(response))
    }

    @Test func oversizeBodyIsNotStoredAndTheKeyIsReleased() {
        let s = MemoryIdempotencyStore(maxBodyBytes: 1000)
        let big = StoredResponse(status: 200, headers: [], body: [UInt8](repeating: 7, count: 1001))
        _ = begin(s, at: now)
        s.complete(identity: "user:u1", key: "k1", fingerprint: fp, response: big, ttl: 60, now: now)
        #expect(begin(s, at: now + 1) == .proceed)
        // The route's own, smaller limit.
        s.complete(identity: "user:u1", key: "k1", fingerprint: fp, response: response, ttl: 60, now: now + 1, maxBodyBytes: 4)
        #expect(begin(s, at: now + 2) == .proceed)
        s.complete(identity: "user:u1", key: "k1", fingerprint: fp, response: response, ttl: 60, now: now + 2, maxBodyBytes: 1000)
        #expect(begin(s, at: now + 3) == .replay(response))
    }

    @Test func inFlightRecordExpiresAfterTheSafetyTimeout() {
        let s = MemoryIdempotencyStore(inFlightTimeout: 300)
        #expect(begin(s, ttl: 86_400, at: now) == .proceed)
        #expect(begin(s, ttl: 86_400, at: now + 299) == .inProgress)
        #expect(begin(s, ttl: 86_400, at: now + 300) == .proceed)
        // A ttl shorter than the timeout bounds the in-flight record too.
        #expect(begin(s, key: "k2", ttl: 10, at: now) == .proceed)
        #expect(begin(s, key: "k2", ttl: 10, at: now + 10) == .proceed)
    }

    @Test func staysWithinItsEntryAndByteBounds() {
        let s = MemoryIdempotencyStore(maxEntries: 100, maxBytes: 64 * 1024)
        let body = StoredResponse(status: 200, headers: [], body: [UInt8](repeating: 1, count: 2000))
        for i in 0..<1000 {
            let t = now + Double(i) * 0.001
            #expect(begin(s, key: "k\(i)", ttl: 3600, at: t) == .proceed)
            if i % 2 == 0 { s.complete(identity: "user:u1", key: "k\(i)", fingerprint: fp, response: body, ttl: 3600, now: t) }
            #expect(s.count <= 100)
            #expect(s.storedBytes <= 64 * 1024)
        }
        // The newest records survive eviction (those nearest to expiry go first).
        #expect(begin(s, key: "k998", ttl: 3600, at: now + 1) == .replay(body))
    }

    @Test func sweepDropsExpiredRecords() {
        let s = MemoryIdempotencyStore()
        for i in 0..<50 { _ = begin(s, key: "k\(i)", ttl: 10, at: now) }
        #expect(s.count == 50)
        s.sweep(now: now + 11)
        #expect(s.count == 0)
        #expect(s.storedBytes == 0)
    }
}
