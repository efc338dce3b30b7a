import RampartHTTP
import RampartLoop
import RampartTransport
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

extension JWTError.Reason {
    /// What the client is told: a sentence, without the key ids, claims or values the log holds.
    public var sentence: String {
        switch self {
        case .malformed: return "The token is not a well-formed JWT."
        case .unsupportedAlgorithm: return "The token is signed with an algorithm this service does not accept."
        case .badSignature: return "The token's signature does not verify."
        case .expired: return "The token has expired; sign in again."
        case .notYetValid: return "The token is not valid yet."
        case .wrongIssuer: return "The token comes from an issuer this service does not trust."
        case .wrongAudience: return "The token is meant for another service."
        case .unknownKey: return "The token is signed with a key this service does not know."
        case .missingUserClaim: return "The token does not name a user."
        }
    }
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
