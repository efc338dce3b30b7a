import RampartTransport

/// One app instance of an upstream (SPEC §11.8): `servers: [{"url", "weight"}]`, or the one `url`.
public struct PoolServer: Sendable, Equatable {
    public var url: String
    public var host: String
    public var port: UInt16
    public var weight: Int
    public var endpoint: UpstreamEndpoint
    /// `host[:port]` as the Host header of an https:// upstream names it.
    public var authority: String

    package init(url: String, host: String, port: UInt16, weight: Int, endpoint: UpstreamEndpoint, authority: String) {
        self.url = url; self.host = host; self.port = port; self.weight = weight; self.endpoint = endpoint; self.authority = authority
    }

    public static func == (a: PoolServer, b: PoolServer) -> Bool { a.url == b.url && a.weight == b.weight }
}

/// How an upstream's servers share its requests, and when one is taken out.
public struct PoolConfig: Sendable, Equatable {
    public enum Balance: String, Sendable, CaseIterable {
        /// Smooth weighted round robin (nginx's): each server's share is its weight, spread evenly.
        case roundRobin = "round_robin"
        /// The fewest requests in flight per unit of weight.
        case leastRequests = "least_requests"
        /// The same caller to the same server while the set is unchanged (rendezvous hashing, weighted).
        case hashUser = "hash_user"
    }
    public var balance: Balance = .roundRobin
    /// Passive health: this many failed attempts in a row take a server out for `cooldown`.
    public var consecutiveFailures = 5
    public var cooldown: Duration = .seconds(30)
    /// Active checks, when configured.
    public var healthCheck: HealthCheckConfig?
    public init() {}
}

public struct HealthCheckConfig: Sendable, Equatable {
    public var path = "/healthz"
    public var interval: Duration = .seconds(5)
    public var timeout: Duration = .seconds(1)
    public var unhealthyAfter = 3
    public var healthyAfter = 2
    public init() {}
}
