import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Foundation

/// `redis://[[username]:password@]host[:port][/db]` — where the Redis store connects.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public var database: Int
    public var username: String?
    public var password: String?

    public init(host: String, port: UInt16 = 6379, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.host = host; self.port = port; self.database = database
        self.username = username; self.password = password
    }

    /// The URL with the password redacted (for logs, `/admin/config`, errors).
    public var description: String {
        var s = "redis://"
        if username != nil || password != nil {
            s += (username ?? "") + (password != nil ? ":***" : "") + "@"
        }
        s += host.contains(":") ? "[\(host)]" : host
        s += ":\(port)/\(database)"
        return s
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static func parse(_ text: String) throws(ParseError) -> RedisURL {
        func fail(_ m: String) -> ParseError { ParseError(message: m) }
        let lower = text.lowercased()
        if lower.hasPrefix("rediss://") { throw fail("rediss:// (TLS to Redis) is not supported; use redis:// over a private network or a TLS sidecar") }
        guard lower.hasPrefix("redis://") else { throw fail("\(text.debugDescription) is not a redis:// URL (use redis://host:6379/0)") }
        var rest = Substring(text.dropFirst("redis://".count))
        if rest.contains("?") || rest.contains("#") { throw fail("query strings and fragments are not supported in a Redis URL") }

        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") { path = rest[rest.index(after: slash)...]; rest = rest[..<slash] }
        var url = RedisURL(host: "")
        if let at = rest.lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                let user = info[..<colon]
                url.username = user.isEmpty ? nil : try decode(user)
                url.password = try decode(info[info.index(after: colon)...])
            } else if !info.isEmpty {
                url.password = try decode(info)   // redis://secret@host
            }
        }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("unterminated IPv6 address in Redis URL") }
            url.host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw fail("unexpected text after the IPv6 address in Redis URL") }
                url.port = try port(rest.dropFirst())
            }
        } else if let colon = rest.firstIndex(of: ":") {
            url.host = String(rest[..<colon])
            url.port = try port(rest[rest.index(after: colon)...])
        } else {
            url.host = String(rest)
        }
        guard !url.host.isEmpty else { throw fail("Redis URL has no host (use redis://host:6379/0)") }
        guard url.host.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") }) else {
            throw fail("invalid host \(url.host.debugDescription) in Redis URL")
        }
        if !path.isEmpty {
            guard let db = Int(path), db >= 0, db < 1 << 20 else { throw fail("Redis database must be a number like /0, not \(String(path).debugDescription)") }
            url.database = db
        }
        return url

        func port(_ s: Substring) throws(ParseError) -> UInt16 {
            guard let p = UInt16(s), p > 0 else { throw fail("invalid port \(String(s).debugDescription) in Redis URL") }
            return p
        }
        func decode(_ s: Substring) throws(ParseError) -> String {
            var out = [UInt8]()
            var it = Array(s.utf8)[...]
            while let b = it.popFirst() {
                if b == UInt8(ascii: "%") {
                    guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else {
                        throw fail("invalid percent-encoding in Redis URL credentials")
                    }
                    out.append(v); it = it.dropFirst(2)
                } else {
                    out.append(b)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}

/// Where the Redis store lives: one server, or a cluster known by its seed nodes.
public enum RedisTarget: Sendable, Equatable {
    case single(RedisURL)
    case cluster([RedisURL])

    /// Every node named in the config (the one URL, or the seeds).
    public var nodes: [RedisURL] {
        switch self {
        case .single(let url): return [url]
        case .cluster(let seeds): return seeds
        }
    }
}

extension StoreConfig {
    /// The Redis store's target with the password from `password_env`; nil for the memory store.
    public func redisTarget(environment: [String: String] = ProcessInfo.processInfo.environment) throws(RedisURL.ParseError) -> RedisTarget? {
        guard kind == .redis else { return nil }
        guard let seeds = cluster else { return try redisURL(environment: environment).map { .single($0) } }
        var urls: [RedisURL] = []
        for seed in seeds {
            var url = try RedisURL.parse("redis://" + seed)
            if let env = passwordEnv, let password = environment[env], !password.isEmpty { url.password = password }
            urls.append(url)
        }
        return urls.isEmpty ? nil : .cluster(urls)
    }

    /// Where the Redis store connects, with the password from `password_env` (never from the
    /// file); nil for the memory store.
    public func redisURL(environment: [String: String] = ProcessInfo.processInfo.environment) throws(RedisURL.ParseError) -> RedisURL? {
        guard kind == .redis, let url else { return nil }
        var parsed = try RedisURL.parse(url)
        if let env = passwordEnv, let password = environment[env], !password.isEmpty { parsed.password = password }
        return parsed
    }
}
