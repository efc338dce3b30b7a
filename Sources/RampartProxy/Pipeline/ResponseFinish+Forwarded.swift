import RampartHTTP
import RampartTransport

extension ResponseFinish {
    /// `proxied` for the usual head, whose finishing step only leaves upstream fields behind and
    /// adds fields after them: the connection then writes it in one pass, with no list edited
    /// first (`ForwardedResponseHead`). The bytes are those `proxied` gives.
    /// False, with `upstream` untouched and nothing sent, when the head needs the full step: a 1xx,
    /// an event stream, an upstream Via, a field the security headers set (or HSTS), route fields
    /// the rules touch, a config whose rules name a field the hop handles, or more than 64 fields.
    /// The head is made as the argument of the send: returned, a value this large would be copied
    /// and destroyed once more.
    static func sendForwarded(_ upstream: inout HTTPResponseHead, ctx: RequestContext, to client: any ClientStream) -> Bool {
        guard upstream.status >= 200, upstream.headers.count <= 64,
              let plan = ctx.plan.headers.plan, plan.forwardsFast else { return false }
        let stage = ctx.responseHeaders
        if !stage.isEmpty {
            let plain = stage.withFieldBytes { f in
                (0..<f.count).allSatisfy { f.knownName($0) == .other && plan.forwardedMatch(f.name($0)) == .keep }
            }
            guard plain else { return false }
        }
        let tokens = upstream.headers.connectionFieldNames()
        var dropped: UInt64 = 0
        var framing = FramingFields()
        let fits = upstream.headers.withFieldBytes { f -> Bool in
            for i in 0..<f.count {
                let bit: UInt64 = 1 << UInt64(i)
                let name = f.name(i)
                let known = f.knownName(i)
                switch ForwardingHeaders.responseField(known, name, tokens: tokens) {
                case .leave:
                    dropped |= bit
                    continue
                case .via:
                    return false   // chained into Rampart's own
                case .contentType where ASCIIBytes.hasPrefixLowercase(f.value(i), "text/event-stream"):
                    return false   // re-framed, and told apart by its filters
                case .contentType, .keep:
                    break
                }
                switch plan.forwardedMatch(name) {
                case .keep: framing.note(known, f.value(i))
                case .drop: dropped |= bit
                case .fallBack: return false
                }
            }
            return true
        }
        guard fits else { return false }
        let fixed = client.isTLS && !ctx.plan.headers.setsHSTS ? plan.fixedWithHSTS : plan.fixed
        // The reason phrase is the standard one, as `proxied` writes it.
        client.sendForwardedHead(ForwardedResponseHead(status: upstream.status, reason: nil, upstream: upstream.takeHeaders(),
                                                       dropped: dropped, requestID: ctx.id, stage: stage, fixed: fixed,
                                                       framing: framing))
        return true
    }
}
