import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
extension RedisQuotaStore {
    /// Identities' quota indexes looked at, at most, per call, and the SCAN pages asked for at most
    /// (other records share the keyspace): an admin call costs Redis a bounded amount however big it is.
    static let topIndexCap = 10_000
    static let topScanPages = 200

    /// The `limit` most used live counters, of one route or of all: a bounded SCAN for the
    /// identities' quota indexes (`rampart:{<identity>}:quota-index`), then each identity's counters
    /// with the `entries` script, one SCAN page at a time so few commands are pending at once.
    /// On Redis Cluster every master is scanned in turn (the caps hold for the whole walk).
    public func top(limit: Int, route: String?, now: Double, completion: @escaping (Result<QuotaTopResult, RedisError>) -> Void) {
        var best: [QuotaUse] = []
        var scanned = 0
        var pages = 0
        let nodes = client.keyspaceNodes
        guard !nodes.isEmpty else { completion(.failure(.unavailable("no Redis node known yet"))); return }
        var node = 0
        func page(_ cursor: String) {
            pages += 1
            nodes[node].send(["SCAN", cursor, "MATCH", "rampart:{*}:quota-index", "COUNT", "500"]) { [weak self] reply in
                guard let self else { return }
                guard case .success(let v) = reply, let parts = v.array, parts.count == 2,
                      let next = parts[0].string, let keys = parts[1].array?.compactMap(\.string) else {
                    if case .failure(let e) = reply { completion(.failure(e)) } else { completion(.failure(.unexpectedReply("SCAN: \(reply)"))) }
                    return
                }
                let identities = keys.prefix(Self.topIndexCap - scanned).compactMap(Self.identity(ofIndexKey:))
                scanned += identities.count
                self.counters(of: identities, route: route, now: now) { result in
                    switch result {
                    case .failure(let e): completion(.failure(e))
                    case .success(let uses):
                        best = QuotaTop.best(best + uses, limit: limit)
                        let lastNode = node == nodes.count - 1
                        if (next == "0" && lastNode) || scanned >= Self.topIndexCap || pages >= Self.topScanPages {
                            completion(.success(QuotaTopResult(uses: best, scannedKeys: scanned, complete: next == "0" && lastNode)))
                        } else if next == "0" {
                            node += 1
                            page("0")
                        } else {
                            page(next)
                        }
                    }
                }
            }
        }
        page("0")
    }

    /// The live counters of these identities (all sent at once, pipelined).
    private func counters(of identities: [String], route: String?, now: Double,
                          completion: @escaping (Result<[QuotaUse], RedisError>) -> Void) {
        guard !identities.isEmpty else { completion(.success([])); return }
        var uses: [QuotaUse] = []
        var waiting = identities.count
        var failure: RedisError?
        for identity in identities {
            entries(identity: identity, now: now) { result in
                switch result {
                case .success(let found):
                    for e in found where route == nil || e.route == route {
                        uses.append(QuotaUse(identity: identity, route: e.route, index: e.index, used: e.used))
                    }
                case .failure(let e): failure = failure ?? e
                }
                waiting -= 1
                if waiting == 0 { completion(failure.map { .failure($0) } ?? .success(uses)) }
            }
        }
    }

    /// `rampart:{user:u1}:quota-index` → `user:u1`.
    static func identity(ofIndexKey key: String) -> String? {
        let prefix = "rampart:{", suffix = "}:quota-index"
        guard key.hasPrefix(prefix), key.hasSuffix(suffix), key.count > prefix.count + suffix.count else { return nil }
        return String(key.dropFirst(prefix.count).dropLast(suffix.count))
    }
}
