import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Glibc
import Testing
@testable import Rampart

/// The native client's view of upstream host names: when to resolve, what to use meanwhile.
@Suite struct HostCacheTests {
    let a = SocketAddressBytes.numeric(host: "10.0.0.1", port: 80)!
    let b = SocketAddressBytes.numeric(host: "10.0.0.2", port: 80)!

    @Test func firstRequestsWaitForOneLookupThenConnect() {
        var cache = HostCache<Int>()
        #expect(cache.lookup("app:80", nowMs: 0, waiter: 1) == .wait(resolve: true))
        #expect(cache.lookup("app:80", nowMs: 5, waiter: 2) == .wait(resolve: false), "one lookup for everyone")
        let out = cache.resolved("app:80", .success([a]), nowMs: 10)
        #expect(out.waiters == [1, 2] && out.error == nil && out.retiredPoolKey == nil && out.poolKey == "app:80#1")
        #expect(cache.lookup("app:80", nowMs: 20, waiter: 3) == .ready(poolKey: out.poolKey, refresh: false))
        #expect(cache.nextAddress("app:80") == a)
    }

    @Test func staleAnswersAreUsedWhileOneRefreshRuns() {
        var cache = HostCache<Int>(refreshMs: 10_000)
        _ = cache.lookup("app:80", nowMs: 0, waiter: 1)
        let first = cache.resolved("app:80", .success([a]), nowMs: 0)
        #expect(cache.lookup("app:80", nowMs: 9_999, waiter: 2) == .ready(poolKey: first.poolKey, refresh: false))
        #expect(cache.lookup("app:80", nowMs: 10_000, waiter: 3) == .ready(poolKey: first.poolKey, refresh: true))
        #expect(cache.lookup("app:80", nowMs: 10_001, waiter: 4) == .ready(poolKey: first.poolKey, refresh: false))
        // The same answer: same generation, pooled connections stay.
        let same = cache.resolved("app:80", .success([a]), nowMs: 10_050)
        #expect(same.poolKey == first.poolKey && same.retiredPoolKey == nil && same.waiters.isEmpty)
        // A new answer retires the old generation's pooled connections.
        _ = cache.lookup("app:80", nowMs: 20_050, waiter: 5)
        let moved = cache.resolved("app:80", .success([b]), nowMs: 20_060)
        #expect(moved.poolKey != first.poolKey && moved.retiredPoolKey == first.poolKey)
        #expect(cache.nextAddress("app:80") == b)
    }

    @Test func aFailedRefreshKeepsTheLastGoodAddresses() {
        var cache = HostCache<Int>(refreshMs: 10_000, retryMs: 1_000)
        _ = cache.lookup("app:80", nowMs: 0, waiter: 1)
        let good = cache.resolved("app:80", .success([a]), nowMs: 0)
        _ = cache.lookup("app:80", nowMs: 10_000, waiter: 2)
        let failed = cache.resolved("app:80", .failure(ResolveError(message: "resolve app: temporary failure")), nowMs: 10_010)
        #expect(failed.error == nil && failed.poolKey == good.poolKey && failed.retiredPoolKey == nil)
        #expect(cache.lookup("app:80", nowMs: 10_500, waiter: 3) == .ready(poolKey: good.poolKey, refresh: false))
        #expect(cache.lookup("app:80", nowMs: 11_010, waiter: 4) == .ready(poolKey: good.poolKey, refresh: true), "retried a second later")
        #expect(cache.nextAddress("app:80") == a)
    }

    @Test func aNameThatNeverResolvedFailsFastUntilTheRetry() {
        var cache = HostCache<Int>(retryMs: 1_000)
        _ = cache.lookup("gone:80", nowMs: 0, waiter: 1)
        _ = cache.lookup("gone:80", nowMs: 1, waiter: 2)
        let out = cache.resolved("gone:80", .failure(ResolveError(message: "resolve gone: Name or service not known")), nowMs: 5)
        #expect(out.waiters == [1, 2] && out.error == "resolve gone: Name or service not known")
        #expect(cache.lookup("gone:80", nowMs: 500, waiter: 3) == .failed("resolve gone: Name or service not known"))
        #expect(cache.lookup("gone:80", nowMs: 1_005, waiter: 4) == .wait(resolve: true))
        let empty = cache.resolved("gone:80", .success([]), nowMs: 1_010)
        #expect(empty.waiters == [4] && empty.error != nil)
    }

    @Test func connectionsRotateOverEveryAddress() {
        var cache = HostCache<Int>()
        _ = cache.lookup("app:80", nowMs: 0, waiter: 1)
        _ = cache.resolved("app:80", .success([a, b]), nowMs: 0)
        #expect((0..<4).compactMap { _ in cache.nextAddress("app:80") } == [a, b, a, b])
        #expect(cache.nextAddress("other:80") == nil)
    }

    @Test func resolvingPrefersIPv4() throws {
        let all = try SocketAddressBytes.resolveAll(host: "localhost", port: 8080).get()
        #expect(all.allSatisfy { $0.family == AF_INET } && all.contains(SocketAddressBytes.numeric(host: "127.0.0.1", port: 8080)!))
        if case .success = SocketAddressBytes.resolveAll(host: "no-such-host.invalid", port: 80) { Issue.record(".invalid resolved") }
    }
}

/// The proxy hop's field roles, told from name bytes.
@Suite struct ForwardingRoleTests {
    @Test func everyHopByHopNameIsKnownInAnyCase() {
        for name in ["Connection", "KEEP-ALIVE", "proxy-connection", "TE", "Trailer", "transfer-encoding", "Upgrade",
                     "Proxy-Authenticate", "proxy-authorization", "Proxy-Authentication-Info", "PROXY-STATUS", "proxy-x"] {
            #expect(ForwardingHeaders.role(name) == .hopByHop, "\(name)")
        }
        #expect(ForwardingHeaders.role("Content-Length") == .contentLength)
        #expect(ForwardingHeaders.role("x-request-id") == .requestID)
        #expect(ForwardingHeaders.role("VIA") == .via)
        #expect(ForwardingHeaders.role("Expect") == .expect)
        #expect(ForwardingHeaders.role("X-Forwarded-For") == .forwardedFor)
        #expect(ForwardingHeaders.role("x-forwarded-proto") == .forwardedProto)
        #expect(ForwardingHeaders.role("X-Forwarded-Host") == .forwardedHost)
        #expect(ForwardingHeaders.role("host") == .host)
        #expect(ForwardingHeaders.role("CONTENT-TYPE") == .contentType)
        for name in ["Hos", "Hosts", "te2", "Content-Typo", "X-Forwarded-Fox", "", "Cookie", "Proxy-", "proxy", "Proxyish-Thing", "X-Proxy-Id"] {
            #expect(ForwardingHeaders.role(name) == .other, "\(name)")
        }
    }
}
