import RampartHTTP
import RampartLoop

/// `tracing` (SPEC §11.10): each request becomes a span exported as OTLP/HTTP JSON.
public struct TracingConfig: Sendable, Equatable {
    public var otlpEndpoint: String
    /// Share of new traces (no sampled parent) that are recorded; a parent's decision is kept.
    public var sampleRatio: Double = 1.0
    public var serviceName: String = "rampart"
    public init(otlpEndpoint: String) { self.otlpEndpoint = otlpEndpoint }
}

/// Where finished spans go (the app wiring's OTLP exporter). Called on loops: must not block.
public protocol SpanSink: AnyObject, Sendable {
    func export(_ span: SpanRecord)
}

/// One finished span, ready to be written as OTLP JSON.
public struct SpanRecord: Sendable {
    public enum Value: Sendable { case string(String), int(Int) }
    public var traceID: [UInt8]
    public var spanID: [UInt8]
    public var parentID: [UInt8]?
    public var name: String
    public var startUnixNano: UInt64
    public var endUnixNano: UInt64
    public var attributes: [(String, Value)]
    public var failed: Bool

    /// The span as an element of OTLP's `spans` array (SPAN_KIND_SERVER; status ERROR when failed).
    public var json: String {
        var fields: [(String, String)] = [
            ("traceId", JSONText.quote(TraceParent.hex(traceID))), ("spanId", JSONText.quote(TraceParent.hex(spanID))),
            ("name", JSONText.quote(name)), ("kind", "2"),
            ("startTimeUnixNano", JSONText.quote(String(startUnixNano))), ("endTimeUnixNano", JSONText.quote(String(endUnixNano))),
            ("attributes", "[" + attributes.map(Self.attribute).joined(separator: ",") + "]"),
            ("status", failed ? #"{"code":2}"# : "{}"),
        ]
        if let parentID { fields.insert(("parentSpanId", JSONText.quote(TraceParent.hex(parentID))), at: 2) }
        return JSONText.object(fields)
    }

    static func attribute(_ a: (String, Value)) -> String {
        switch a.1 {
        case .string(let s): return #"{"key":\#(JSONText.quote(a.0)),"value":{"stringValue":\#(JSONText.quote(s))}}"#
        case .int(let n): return #"{"key":\#(JSONText.quote(a.0)),"value":{"intValue":"\#(n)"}}"#
        }
    }

    /// A batch of spans as one OTLP/HTTP JSON request body (`POST /v1/traces`).
    public static func request(_ spans: [SpanRecord], serviceName: String) -> String {
        #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":\#(JSONText.quote(serviceName))}}]},"#
            + #""scopeSpans":[{"scope":{"name":"rampart"},"spans":["# + spans.map(\.json).joined(separator: ",") + "]}]}]}"
    }
}

/// A request's place in its trace: the client's parent (if any), and Rampart's own span, whose id
/// the upstream gets as its parent.
struct RequestTrace {
    let parent: TraceParent?
    let own: TraceParent

    /// Continues the client's trace, or starts one; a sampled parent is sampled here too, and a new
    /// trace is sampled at `ratio`. Unsampled traces are still propagated, so the app's own spans
    /// can follow the same decision.
    static func begin(_ head: HTTPRequestHead, ratio: Double) -> RequestTrace {
        var rng = SystemRandomNumberGenerator()
        let parent = head.headers["traceparent"].flatMap(TraceParent.parse)
        let span = (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let trace = parent?.traceID ?? (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let sampled = parent?.sampled ?? (ratio >= 1 || Double.random(in: 0..<1, using: &rng) < ratio)
        return RequestTrace(parent: parent, own: TraceParent(traceID: trace, spanID: span, sampled: sampled))
    }
}

extension ExchangeFacts {
    /// The request's span, with the route, status, upstream server (the pool's pick of the last
    /// attempt, else the upstream's one), retries and, on AI routes, the GenAI attributes of
    /// OpenTelemetry's semantic conventions.
    func span(_ ctx: RequestContext, trace: RequestTrace, status: Int, error: String?, started: UInt64, now: UInt64,
              retries: Int, server: (host: String, port: UInt16)? = nil) -> SpanRecord {
        let end = UInt64(max(0, ctx.server.state.wallNow() * 1e9))
        let upstream = server ?? (ctx.plan.upstream.host, ctx.plan.upstream.port)
        var attributes: [(String, SpanRecord.Value)] = [
            ("http.request.method", .string(ctx.head.method)), ("url.path", .string(ctx.head.path)),
            ("http.route", .string(ctx.route.name)), ("http.response.status_code", .int(status)),
            ("network.protocol.version", .string(ctx.http2 ? "2" : "1.1")),
            ("server.address", .string(upstream.host)), ("server.port", .int(Int(upstream.port))),
            ("rampart.request_id", .string(ctx.requestID)), ("rampart.retries", .int(retries)),
        ]
        if let error { attributes.append(("error.type", .string(error))) }
        if let usage = ctx.countedUsage {
            if let format = ctx.route.format { attributes.append(("gen_ai.system", .string(format.rawValue))) }
            if let model = usage.model { attributes.append(("gen_ai.response.model", .string(model))) }
            attributes.append(("gen_ai.usage.input_tokens", .int(usage.promptTokens)))
            attributes.append(("gen_ai.usage.output_tokens", .int(usage.outputTokens)))
        }
        return SpanRecord(traceID: trace.own.traceID, spanID: trace.own.spanID, parentID: trace.parent?.spanID,
                          name: ctx.head.method + " " + ctx.route.name, startUnixNano: end &- (now &- started), endUnixNano: end,
                          attributes: attributes, failed: status >= 500 || (error != nil && status >= 400))
    }
}
