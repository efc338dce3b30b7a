import Foundation
import RampartLoop
import RampartTransport
import RampartHTTP

/// Identity stage (SPEC §5): who is calling. A verified JWT (Authorization: Bearer or the named
/// cookie); else `trusted_header`, believed only from `trusted_proxies`; else anonymous, keyed by
/// client IP — or 401 when the route requires auth or `anonymous` is `reject`. A token that fails
/// verification is always a 401, never silently downgraded to anonymous.
struct IdentityPolicy: RouteFilter {
    var phases: FilterPhases { .requestHead }

    package let identity: IdentityConfig
    package let verifier: JWTVerifier?
    package let auth: RouteConfig.Auth

    package func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        if let verifier, let jwt = identity.jwt,
           let token = JWTVerifier.token(in: ctx.head.headers, header: jwt.header, cookieName: jwt.cookie) {
            switch verifier.verify(token, now: ctx.server.state.wallNow()) {
            case .success(let verified):
                ctx.user = verified.user
                done(.proceed)
            case .failure(let error):
                ctx.logReason = "invalid token: \(error.description)"
                done(.reject(Self.unauthenticated(error.reason.sentence, invalidToken: true)))
            }
            return
        }
        if let header = identity.trustedHeader {
            let peerTrusted = ctx.config.server.trustedProxies.contains { $0.contains(ctx.peerIP) }
            if peerTrusted, let value = ctx.head.headers[header], !value.isEmpty {
                ctx.user = value
                done(.proceed)
                return
            }
            // Only a trusted proxy may assert who the user is: drop the claim before the app sees it.
            if !peerTrusted { ctx.stripUpstreamHeaders.append(header) }
        }
        if auth == .required || identity.anonymous == .reject {
            ctx.logReason = identity.jwt == nil && identity.trustedHeader == nil ? "no identity source is configured and the route requires one"
                : "no credentials: no token" + (identity.trustedHeader.map { " and no \($0) header from a trusted proxy" } ?? "")
            done(.reject(Self.unauthenticated("This route requires you to sign in.", invalidToken: false)))
            return
        }
        done(.proceed)
    }

    static func unauthenticated(_ message: String, invalidToken: Bool) -> GatewayError {
        var e = GatewayError(status: 401, code: "UNAUTHENTICATED", message: message)
        e.extraHeaders = [HTTPField(name: "WWW-Authenticate", value: invalidToken ? "Bearer error=\"invalid_token\"" : "Bearer")]
        return e
    }
}
