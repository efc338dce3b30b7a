import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The binary record format Redis holds: round trips, and foreign or truncated bytes refused.
struct IdempotencyRecordTests {
    let response = StoredResponse(status: 201, headers: [HTTPField(name: "Content-Type", value: "application/json"),
                                                        HTTPField(name: "X-Émoji", value: "☃"),
                                                        HTTPField(name: "Set-Cookie", value: "")],
                                  body: Array(0...255) + [0, 13, 10])

    @Test func roundTrips() {
        let records: [IdempotencyRecord] = [
            .inFlight(fingerprint: "abc"),
            .completed(fingerprint: "abc", response: response),
            .completed(fingerprint: "", response: StoredResponse(status: 204, headers: [], body: [])),
        ]
        for r in records { #expect(IdempotencyRecord.decode(r.encoded()) == r) }
        #expect(IdempotencyRecord.inFlight(fingerprint: "f").encoded().first == UInt8(ascii: "I"))
    }

    @Test func refusesTruncatedOrForeignBytes() {
        let bytes = IdempotencyRecord.completed(fingerprint: "abc", response: response).encoded()
        for n in 0..<bytes.count { #expect(IdempotencyRecord.decode(Array(bytes[..<n])) == nil) }
        #expect(IdempotencyRecord.decode(bytes + [0]) == nil)
        #expect(IdempotencyRecord.decode(Array(#"{"status":200}"#.utf8)) == nil)
    }

    @Test func outcomeComparesTheFingerprintFirst() {
        #expect(IdempotencyRecord.inFlight(fingerprint: "a").outcome(for: "a") == .inProgress)
        #expect(IdempotencyRecord.inFlight(fingerprint: "a").outcome(for: "b") == .mismatch)
        #expect(IdempotencyRecord.completed(fingerprint: "a", response: response).outcome(for: "a") == .replay(response))
        #expect(IdempotencyRecord.completed(fingerprint: "a", response: response).outcome(for: "b") == .mismatch)
    }

    @Test func fingerprintCoversMethodPathAndBody() {
        let base = IdempotencyFingerprint.of(method: "POST", path: "/a", body: [1])
        #expect(base.count == 64)
        #expect(base == IdempotencyFingerprint.of(method: "POST", path: "/a", body: [1]))
        #expect(base != IdempotencyFingerprint.of(method: "PUT", path: "/a", body: [1]))
        #expect(base != IdempotencyFingerprint.of(method: "POST", path: "/b", body: [1]))
        #expect(base != IdempotencyFingerprint.of(method: "POST", path: "/a", body: [2]))
    }

    @Test func ttlBecomesWholePositiveMilliseconds() {
        #expect(IdempotencyRedisScripts.milliseconds(86_400) == "86400000")
        #expect(IdempotencyRedisScripts.milliseconds(0.0001) == "1")
        #expect(IdempotencyRedisScripts.milliseconds(0) == "1")
        #expect(IdempotencyRedisScripts.milliseconds(-5) == "1")
        #expect(IdempotencyRedisScripts.milliseconds(.infinity) == "9000000000000000")
        #expect(IdempotencyRedisScripts.milliseconds(.nan) == "1")
        #expect(IdempotencyRedisScripts.key(identity: "user:u1", key: "k") == "rampart:{user:u1}:idem:k")
    }
}
