import Foundation
import Glibc
import RampartLoop
import Testing

/// SPEC §11.9: the Redis store on Redis Cluster. Two Rampart replicas share a real local cluster
/// (three masters, three replicas): quotas stay exact across replicas and masters, slot moves are
/// followed (ASK while a slot migrates, MOVED once it moved), and a master failover loses no
/// journaled save and no counted hit while `store.on_unavailable` decides for the moments it lasts.
@Suite(.serialized) struct RedisClusterTests {
    let dir = NSTemporaryDirectory() + "rampart-cluster-gw-" + UUID().uuidString

    func config(app: DemoApp, cluster: RedisClusterServers, quotas: String) -> String {
        let password = cluster.password == nil ? "" : #", "password_env": "REDIS_PASSWORD""#
        return saveConfig(upstream: app.url, dir: dir,
                          store: #"{"kind": "redis", "cluster": \#(cluster.seedsJSON), "on_unavailable": "deny", "dir": "\#(dir)"\#(password)}"#,
                          defaultQuotas: quotas)
    }

    /// A cluster that requires a password: every node is authenticated with `password_env`'s.
    @Test func aPasswordProtectedClusterTakesThePasswordFromTheEnvironment() throws {
        let cluster = try RedisClusterServers(password: "cluster-s3cret")
        let app = try DemoApp()
        let a = try RampartProcess(config: config(app: app, cluster: cluster, quotas: Self.mixedQuotas),
                                   environment: ["REDIS_PASSWORD": "cluster-s3cret"])
        for expected in [3, 2, 1, 0] { #expect(Self.remaining(try Self.hit(a, user: "pw")) == expected) }
        #expect(try Self.hit(a, user: "pw").status == 429)
        let status = try a.admin("GET", "/admin/status").json["store"] as? [String: Any]
        #expect(status?["healthy"] as? Bool == true, "\(status ?? [:])")
        // The journal's own connection authenticates too: a failed save is listed from Redis.
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        let failed = json(try lastEvent(generate(a.port, chapter: "pw1")).1)
        let id = try #require(failed["save_id"] as? String, "\(failed)")
        let listed = (try a.admin("GET", "/admin/saves").json["saves"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(listed == [id])
        #expect(!FileManager.default.fileExists(atPath: dir + "/saves.journal"), "in Redis, not in the local fallback")
    }

    /// A user, an IP and a route-wide quota on one route: three hash tags, three slots.
    static let mixedQuotas = #"[{"limit": 4, "per": "1h", "key": "user"}, {"limit": 1000, "per": "1h", "key": "ip"}, {"limit": 1000, "per": "1h", "key": "route"}]"#

    static func hit(_ r: RampartProcess, user: String) throws -> HTTPClient.Response {
        try HTTPClient.request(port: r.port, path: "/echo/cluster", headers: ["X-User-Id": user])
    }

    /// The `remaining` RateLimit names for the first (per-user) quota.
    static func remaining(_ r: HTTPClient.Response) -> Int? {
        guard let header = r.header("RateLimit"), let part = header.split(separator: ",").first,
              let value = part.split(separator: ";").first(where: { $0.hasPrefix("r=") }) else { return nil }
        return Int(value.dropFirst(2))
    }

    @Test func quotasAreExactAcrossReplicasAndMasters() throws {
        let cluster = try RedisClusterServers()
        let app = try DemoApp()
        let a = try RampartProcess(config: config(app: app, cluster: cluster, quotas: Self.mixedQuotas))
        let b = try RampartProcess(config: config(app: app, cluster: cluster, quotas: Self.mixedQuotas))
        let users = (0..<6).map { "cu\($0)" }
        let statuses = Lock<[String: [Int]]>([:])
        // 6 users × 8 calls, alternating replicas, four at a time: each user gets exactly 4.
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for n in stride(from: worker, to: users.count * 8, by: 4) {
                let user = users[n % users.count]
                let status = (try? Self.hit(n % 2 == 0 ? a : b, user: user).status) ?? -1
                statuses.withLock { $0[user, default: []].append(status) }
            }
        }
        for user in users {
            let got = statuses.withLock { $0[user] ?? [] }
            #expect(got.filter { $0 == 200 }.count == 4 && got.filter { $0 == 429 }.count == 4, "\(user): \(got.sorted())")
        }
        let holding = try cluster.nodes.prefix(3).filter { Int(try cluster.cli($0.port, ["DBSIZE"]).first ?? "0") ?? 0 > 0 }
        #expect(holding.count >= 2, "the keys are spread over the masters")
        for r in [a, b] {
            let top = try r.admin("GET", "/admin/quotas/top?limit=50").json
            let keys = Set((top["top"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String })
            #expect(users.allSatisfy { keys.contains("user:\($0)") } && top["complete"] as? Bool == true, "every master scanned: \(top)")
        }
    }

    @Test func slotMigrationsAreFollowed() throws {
        let cluster = try RedisClusterServers()
        let app = try DemoApp()
        let a = try RampartProcess(config: config(app: app, cluster: cluster, quotas: Self.mixedQuotas))
        #expect(Self.remaining(try Self.hit(a, user: "mover")) == 3)
        let slot = try cluster.slot(of: "{user:mover}")
        let source = try cluster.master(ofSlot: slot)
        let target = try #require(try (0..<3).map { try cluster.master(ofSlot: $0 * 5461) }.first { $0.port != source.port })
        let (sourceID, targetID) = (try cluster.id(of: source), try cluster.id(of: target))

        // Mid-migration: the keys are on the target, the map still names the source, which answers ASK.
        _ = try cluster.cli(target.port, ["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID])
        _ = try cluster.cli(source.port, ["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID])
        let keys = try cluster.cli(source.port, ["CLUSTER", "GETKEYSINSLOT", String(slot), "100"]).filter { !$0.isEmpty }
        #expect(keys.count == 2, "the quota key and its index: \(keys)")
        _ = try cluster.cli(source.port, ["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS"] + keys)
        #expect(Self.remaining(try Self.hit(a, user: "mover")) == 2, "ASK followed: the hit counted where the keys are")

        // Migrated: the source answers MOVED until Rampart's map catches up.
        for node in cluster.nodes.prefix(3) {
            _ = try cluster.cli(node.port, ["CLUSTER", "SETSLOT", String(slot), "NODE", targetID])
        }
        #expect(Self.remaining(try Self.hit(a, user: "mover")) == 1, "MOVED followed")
        #expect(Self.remaining(try Self.hit(a, user: "mover")) == 0)
        #expect(try Self.hit(a, user: "mover").status == 429, "still exactly 4")
        #expect(try cluster.cli(target.port, ["CLUSTER", "COUNTKEYSINSLOT", String(slot)]).first == "2", "the counts moved with the slot")
    }

    @Test func aMasterFailoverLosesNoJournaledSaveAndNoHit() throws {
        let cluster = try RedisClusterServers()
        let app = try DemoApp()
        let quotas = #"[{"limit": 5, "per": "1h", "key": "user"}]"#
        let a = try RampartProcess(config: config(app: app, cluster: cluster, quotas: quotas), environment: ["RAMPART_INSTANCE": "a"])
        let b = try RampartProcess(config: config(app: app, cluster: cluster, quotas: quotas), environment: ["RAMPART_INSTANCE": "b"])
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        var journaled: [String] = []
        for chapter in ["f1", "f2", "f3"] {
            let status = json(try lastEvent(generate(a.port, chapter: chapter)).1)
            #expect(status["success"] as? Bool == false)
            journaled.append(try #require(status["save_id"] as? String))
        }
        // A user whose quota keys live on the master that holds the journal.
        let journalSlot = try cluster.slot(of: "{saves}")
        let doomed = try cluster.master(ofSlot: journalSlot)
        let user = try #require(try (0..<200).map { "fo\($0)" }.first { try cluster.master(ofSlot: cluster.slot(of: "{user:\($0)}")).port == doomed.port })
        #expect(Self.remaining(try Self.hit(b, user: user)) == 4)
        #expect(Self.remaining(try Self.hit(a, user: user)) == 3)
        try cluster.waitUntilServing()

        cluster.kill(doomed)
        // Until the replica takes over, that user's quota cannot be checked: "deny" answers 503.
        try eventually(timeout: 15, "deny while the master is gone") {
            let r = try Self.hit(a, user: user)
            return r.status == 503 && (r.json["error"] as? [String: Any])?["code"] as? String == "OVERLOADED"
        }
        // A save that fails meanwhile is journaled all the same.
        let during = json(try lastEvent(generate(a.port, chapter: "f4")).1)
        journaled.append(try #require(during["save_id"] as? String))

        try cluster.waitUntilServing()
        try eventually(timeout: 30, "served again by the promoted replica") { try Self.hit(b, user: user).status == 200 }
        #expect(Self.remaining(try Self.hit(a, user: user)) == 1, "the 2 hits before the failover still count: 2 + 2 of 5")
        #expect(Self.remaining(try Self.hit(b, user: user)) == 0)
        #expect(try Self.hit(a, user: user).status == 429)

        for r in [a, b] {
            let ids = Set((try r.admin("GET", "/admin/saves").json["saves"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
            #expect(ids == Set(journaled), "every journaled save is listed by \(r.port): \(ids) vs \(journaled)")
        }
    }
}
