import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// One Lua script on one loop's Redis connection: loaded with SCRIPT LOAD, run with EVALSHA, and
/// sent whole with EVAL until its SHA1 is known or after a NOSCRIPT reply (Redis restarted or its
/// script cache was flushed). Every store that runs scripts goes through this one type.
/// Loop-confined like the `RedisClient` it runs on.
final class RedisScript {
    let source: String
    private let sourceBytes: [UInt8]
    private(set) var sha: String?

    init(_ source: String) { self.source = source; self.sourceBytes = Array(source.utf8) }

    /// SCRIPT LOAD; `done` reports whether Redis took it.
    func load(on client: any RedisConnection, done: @escaping (Result<Void, RedisError>) -> Void) {
        client.send(["SCRIPT", "LOAD", source]) { [weak self] r in
            switch r {
            case .success(let v): self?.sha = v.string; done(.success(()))
            case .failure(let e): done(.failure(e))
            }
        }
    }

    /// Loads every script; `completion` gets the first failure or success once all have answered.
    static func loadAll(_ scripts: [RedisScript], on client: any RedisConnection, completion: ((Result<Void, RedisError>) -> Void)?) {
        var waiting = scripts.count
        var failure: RedisError?
        for script in scripts {
            script.load(on: client) { r in
                if case .failure(let e) = r, failure == nil { failure = e }
                waiting -= 1
                if waiting == 0 { completion?(failure.map { .failure($0) } ?? .success(())) }
            }
        }
    }

    func run(on client: any RedisConnection, keys: [String], args: [String], completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        run(on: client, keys: keys.map { Array($0.utf8) }, args: args.map { Array($0.utf8) }, completion: completion)
    }

    /// EVALSHA when the SHA1 is known, EVAL otherwise or on NOSCRIPT. Arguments are bytes, so
    /// binary values (idempotency records) pass unchanged.
    func run(on client: any RedisConnection, keys: [[UInt8]], args: [[UInt8]], completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        let tail = [Array(String(keys.count).utf8)] + keys + args
        let whole = [Self.eval, sourceBytes] + tail
        guard let sha else { client.send(bytes: whole, completion: completion); return }
        client.send(bytes: [Self.evalsha, Array(sha.utf8)] + tail) { r in
            // EVAL puts the script back in Redis's cache under the same SHA1, so EVALSHA stays.
            if case .failure(.server(let m)) = r, m.hasPrefix("NOSCRIPT") {
                client.send(bytes: whole, completion: completion)
            } else {
                completion(r)
            }
        }
    }

    private static let eval = Array("EVAL".utf8), evalsha = Array("EVALSHA".utf8)
}
