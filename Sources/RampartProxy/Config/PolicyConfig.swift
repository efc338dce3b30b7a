import RampartHTTP

/// The config of the policies that read client bytes (a JWT, a body checked against a schema, a
/// chat body truncated to a budget), apart from the rest of `GatewayConfig` so that the fuzz
/// targets (Fuzz/build.sh) can compile those policies without the whole config model.
public struct JWTConfig: Sendable {
    public var header: String = "Authorization"
    public var cookie: String?
    public var algorithms: [String] = ["RS256", "ES256", "HS256"]
    public var publicKeysFile: String?
    public var jwksFile: String?
    public var hmacSecretEnv: String?
    public var issuer: String?
    public var audience: String?
    public var userClaim: String = "sub"
    public var leeway: Duration = .seconds(30)
    package init(header: String = "Authorization", cookie: String? = nil, algorithms: [String] = ["RS256", "ES256", "HS256"], publicKeysFile: String? = nil, jwksFile: String? = nil, hmacSecretEnv: String? = nil, issuer: String? = nil, audience: String? = nil, userClaim: String = "sub", leeway: Duration = .seconds(30)) {
        self.header = header; self.cookie = cookie; self.algorithms = algorithms; self.publicKeysFile = publicKeysFile; self.jwksFile = jwksFile; self.hmacSecretEnv = hmacSecretEnv; self.issuer = issuer; self.audience = audience; self.userClaim = userClaim; self.leeway = leeway
    }
}

public struct TruncateConfig: Sendable {
    public enum Format: Sendable, Equatable { case anthropic, openai, pointer(String) }
    public var format: Format
    public var budgetTokens: Int
    public var charsPerToken: Double = 4
    public var imageTokens: Int = 1600
    package init(format: Format, budgetTokens: Int, charsPerToken: Double = 4, imageTokens: Int = 1600) {
        self.format = format; self.budgetTokens = budgetTokens; self.charsPerToken = charsPerToken; self.imageTokens = imageTokens
    }
}

public struct ValidateConfig: Sendable {
    public var schema: JSONValue
    public var trim: Bool = false
    package init(schema: JSONValue, trim: Bool = false) {
        self.schema = schema; self.trim = trim
    }
}
