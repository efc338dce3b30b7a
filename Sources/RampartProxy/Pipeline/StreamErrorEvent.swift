import RampartHTTP
import RampartLoop
import RampartTransport

/// The last event of an SSE stream Rampart has to cut (upstream failure, timeout, drain deadline),
/// in the dialect the client's SDK reads: an SDK that only knows its provider's error shape must
/// still see the stream fail, not end as a short success.
package enum StreamErrorEvent {
    enum Dialect { case anthropic, openai, generic }

    static func dialect(of route: RouteConfig) -> Dialect {
        switch route.format {
        case .anthropic?: return .anthropic
        case .openai?: return .openai
        case nil: break
        }
        switch route.streamSave?.format {
        case .anthropic?: return .anthropic
        case .openai?: return .openai
        default: break
        }
        switch route.truncate?.format {
        case .anthropic?: return .anthropic
        case .openai?: return .openai
        default: return .generic
        }
    }

    /// Anthropic: `event: error` with `{"type":"error","error":{"type":...,"message":...}}`.
    /// OpenAI: a `data:` chunk holding an `error` object. Others: `event: error` with Rampart's code.
    static func bytes(_ error: GatewayError, dialect: Dialect, requestID: String) -> [UInt8] {
        let message = JSONText.quote(error.message), code = JSONText.quote(error.code), id = JSONText.quote(requestID)
        switch dialect {
        case .anthropic:
            let data = JSONText.object([("type", "\"error\""), ("error", JSONText.object([
                ("type", JSONText.quote(anthropicType(error.status))), ("message", message), ("code", code)])), ("request_id", id)])
            return SSEEncoder.encode(event: "error", data: data)
        case .openai:
            let data = JSONText.object([("error", JSONText.object([
                ("message", message), ("type", JSONText.quote(error.status == 429 ? "rate_limit_error" : "server_error")),
                ("code", code), ("param", "null")])), ("request_id", id)])
            return SSEEncoder.encode(event: nil, data: data)
        case .generic:
            let data = JSONText.object([("type", "\"error\""), ("error", JSONText.object([
                ("code", code), ("message", message), ("request_id", id)]))])
            return SSEEncoder.encode(event: "error", data: data)
        }
    }

    /// The error types Anthropic's SDKs map to exceptions.
    static func anthropicType(_ status: Int) -> String {
        switch status {
        case 429: return "rate_limit_error"
        case 503, 529: return "overloaded_error"
        case 413: return "request_too_large"
        default: return "api_error"
        }
    }
}
