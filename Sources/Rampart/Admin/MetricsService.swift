import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport

/// `admin.metrics_listen`: `GET /metrics` without a token, and nothing else, so Prometheus can
/// scrape a pod without holding the admin token (Envoy's separate stats listener). The metrics
/// carry no secrets and no user ids: every label set is bounded.
final class MetricsService: RequestService {
    let context: ServerContext
    init(context: ServerContext) { self.context = context }

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The whole scrape: request and upstream metrics, breakers, AI usage, the journal, the process.
    static func exposition(_ state: GatewayState) -> String {
        state.metrics.render() + AdminBreakers.gauge(state: state) + AdminUsage.metrics(state: state) + AdminUpstreams.metrics(state: state)
            + "# HELP rampart_save_journal_depth Journaled saves waiting for a replay.\n# TYPE rampart_save_journal_depth gauge\n"
            + "rampart_save_journal_depth \(state.journal.depth)\n"
            + ProcessMetrics.render(startedAtUnix: state.startedAtUnix)
    }

    func begin(_ head: HTTPRequestHead, on connection: any ClientStream) -> ServerExchange {
        let requestID = RequestIDs.make().description
        guard head.path == "/metrics" else {
            return LocalExchange.error(connection, GatewayError(status: 404, code: "NOT_FOUND",
                                                                message: "This listener serves only GET /metrics."), requestID: requestID, headers: nil)
        }
        guard head.method == "GET" || head.method == "HEAD" else {
            var e = GatewayError(status: 405, code: "METHOD_NOT_ALLOWED", message: "Only GET is allowed on /metrics.")
            e.extraHeaders = [HTTPField(name: "Allow", value: "GET, HEAD")]
            return LocalExchange.error(connection, e, requestID: requestID, headers: nil)
        }
        let body = Array(Self.exposition(context.state).utf8)
        return LocalExchange(connection: connection,
                             head: LocalReply.head(status: 200, contentType: Self.contentType, bodyLength: body.count, requestID: requestID,
                                                   extra: AdminService.fixedFields, headersConfig: nil, tls: false),
                             body: body)
    }
}
