/// The field names a proxy hop acts on, told apart once, when a head is parsed: each parsed field
/// keeps its name's class in its entry, so the forwarding rules, the framing checks and the
/// security headers read one byte per field instead of comparing names again (nginx keeps a
/// hashed handler per known header for the same reason). Fields added later are classed on
/// demand (`HTTPHeaders.FieldBytes.knownName`).
/// The cases keep their declared order with no gaps: a raw value is then the case's tag, which
/// `HeaderEntry.known` reads back without a switch.
public enum KnownHeaderName: UInt8, Sendable {
    /// 0 in an entry: not classed yet (a field Rampart's code added).
    case unclassified = 0
    case other
    case host, expect, connection, contentLength, transferEncoding
    case te, via, trailer, upgrade, keepAlive, proxyConnection, proxyAuthenticate, proxyAuthorization
    /// Any other `Proxy-*` field: about a proxy on one hop, none travels further.
    case proxyOther
    case requestID, contentType, forwardedFor, forwardedHost, forwardedProto
    case strictTransportSecurity

    /// The class of a name's bytes (any case): its length and first letter pick the one name it
    /// can be, and one word compare or two settle it.
    public static func classify(_ name: UnsafeBufferPointer<UInt8>) -> KnownHeaderName {
        let n = name.count
        guard n >= 2, let p = name.baseAddress else { return .other }
        let first = p[0] | 0x20
        @inline(__always) func named(_ lit: StaticString) -> Bool {
            first == lit.utf8Start[0] && ASCIIBytes.equalsLowercase(p, lit.utf8Start, count: n)
        }
        switch n {
        case 2: if named("te") { return .te }
        case 3: if named("via") { return .via }
        case 4: if named("host") { return .host }
        case 6: if named("expect") { return .expect }
        case 7: if named("trailer") { return .trailer } else if named("upgrade") { return .upgrade }
        case 10: if named("connection") { return .connection } else if named("keep-alive") { return .keepAlive }
        case 12: if named("content-type") { return .contentType } else if named("x-request-id") { return .requestID }
        case 14: if named("content-length") { return .contentLength }
        case 15: if named("x-forwarded-for") { return .forwardedFor }
        case 16: if named("proxy-connection") { return .proxyConnection } else if named("x-forwarded-host") { return .forwardedHost }
        case 17: if named("transfer-encoding") { return .transferEncoding } else if named("x-forwarded-proto") { return .forwardedProto }
        case 18: if named("proxy-authenticate") { return .proxyAuthenticate }
        case 19: if named("proxy-authorization") { return .proxyAuthorization }
        case 25: if named("strict-transport-security") { return .strictTransportSecurity }
        default: break
        }
        // Any length: a `Proxy-*` name longer than the known ones is still one hop's.
        return n > 6 && first == UInt8(ascii: "p") && ASCIIBytes.equalsLowercase(p, ("proxy-" as StaticString).utf8Start, count: 6)
            ? .proxyOther : .other
    }

    /// Dropped at every hop whatever the message says (RFC 9110 §7.6.1, plus `Proxy-*`).
    public var isHopByHop: Bool {
        switch self {
        case .te, .trailer, .upgrade, .connection, .keepAlive, .transferEncoding,
             .proxyConnection, .proxyAuthenticate, .proxyAuthorization, .proxyOther: return true
        default: return false
        }
    }
}
