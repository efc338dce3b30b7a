/// The identity a verified JWT carries: the user id for quotas and the claims for anything else.
public struct VerifiedIdentity: Sendable, Equatable {
    public var user: String
    public var claims: JSONValue

    public init(user: String, claims: JSONValue) {
        self.user = user
        self.claims = claims
    }
}

/// Why a token was refused. `reason` is stable for metrics and tests; `message` is for the log
/// only (SPEC §4: clients get a plain 401 without detail).
public struct JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case malformed, unsupportedAlgorithm, badSignature, expired, notYetValid
        case wrongIssuer, wrongAudience, unknownKey, missingUserClaim
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}

/// A key source that cannot be used; raised at startup/reload so a bad deploy fails fast.
public struct JWTSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

extension String {
    /// Attacker-supplied text quoted in log messages, cut short so a token cannot flood the log.
    var jwtQuoted: String {
        let cut = count > 64 ? String(prefix(64)) + "…" : self
        return JSONValue.string(cut).jsonText()
    }
}
