import RampartHTTP
import RampartLoop
import RampartTransport
/// The registered-claim rules (RFC 7519 §4.1) applied after the signature holds: time window
/// with leeway, issuer, audience, and the claim that names the user.
struct JWTClaimsCheck {
    package let config: JWTConfig
    package let leeway: Double
    package let now: Double

    /// Returns the time window, the one part of the verdict that can change later (`JWTTimeWindow`).
    @discardableResult
    package func check(_ claims: JSONValue) throws(JWTError) -> JWTTimeWindow {
        // exp is judged before nbf is read, so an expired token with a malformed nbf is "expired".
        let exp = try time(claims, "exp")
        try JWTTimeWindow(exp: exp, nbf: nil).check(now: now, leeway: leeway)
        let window = JWTTimeWindow(exp: exp, nbf: try time(claims, "nbf"))
        try window.check(now: now, leeway: leeway)
        if let issuer = config.issuer {
            guard case .string(let iss)? = claims["iss"] else { throw JWTError(.wrongIssuer, "no \"iss\" claim; expected \(issuer.jwtQuoted)") }
            guard iss == issuer else { throw JWTError(.wrongIssuer, "iss \(iss.jwtQuoted) is not \(issuer.jwtQuoted)") }
        }
        if let audience = config.audience {
            let audiences: [String]
            switch claims["aud"] {
            case .string(let aud)?: audiences = [aud]
            case .array(let items)?: audiences = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            default: throw JWTError(.wrongAudience, "no \"aud\" claim; expected \(audience.jwtQuoted)")
            }
            guard audiences.contains(audience) else { throw JWTError(.wrongAudience, "aud does not include \(audience.jwtQuoted)") }
        }
        return window
    }

    /// Whole seconds for the log. The claim is any JSON number, so the difference can be far past
    /// Int's range (exp = -1e300), where converting it would trap and take the process down.
    static func seconds(_ d: Double) -> String {
        let r = d.rounded()
        return abs(r) < 9.0e18 ? String(Int(r)) : String(describing: r)
    }

    /// NumericDate claims must be numbers when present; a string "exp" is malformed, not "absent".
    private func time(_ claims: JSONValue, _ name: String) throws(JWTError) -> Double? {
        switch claims[name] {
        case nil: return nil
        case .number(let t)? where t.isFinite: return t
        default: throw JWTError(.malformed, "\"\(name)\" is not a number")
        }
    }

    /// The user id: a non-empty string without control characters, or an integral number.
    package static func user(_ claims: JSONValue, claim: String) throws(JWTError) -> String {
        switch claims[claim] {
        case .string(let s)? where !s.isEmpty:
            guard !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw JWTError(.missingUserClaim, "claim \(claim.jwtQuoted) contains control characters")
            }
            return s
        case .number(let n)? where n.rounded() == n && abs(n) <= 9_007_199_254_740_992:
            return String(Int64(n))
        default:
            throw JWTError(.missingUserClaim, "no usable \(claim.jwtQuoted) claim (string or integer)")
        }
    }
}

/// A verified token's `exp` and `nbf` (RFC 7519 §4.1.4-5), the only part of its verdict that
/// changes with time: checked on every use, also when the rest comes from `VerifiedTokenCache`.
struct JWTTimeWindow: Sendable, Equatable {
    let exp: Double?
    let nbf: Double?

    func check(now: Double, leeway: Double) throws(JWTError) {
        if let exp, now >= exp + leeway {
            throw JWTError(.expired, "expired \(JWTClaimsCheck.seconds(now - exp)) s ago (leeway \(Int(leeway)) s)")
        }
        if let nbf, now + leeway < nbf {
            throw JWTError(.notYetValid, "not valid for another \(JWTClaimsCheck.seconds(nbf - now)) s (leeway \(Int(leeway)) s)")
        }
    }
}
