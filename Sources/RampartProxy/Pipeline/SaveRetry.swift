import RampartHTTP
import RampartLoop
import RampartTransport

/// `POST /_rampart/saves/<id>/retry` on the main listener: the user a journaled save belongs to
/// may retry it (identified exactly as on the route that streamed it); anyone else gets 404, as
/// if it did not exist. Output that failed `validate` is not the user's to retry: it waits for an
/// operator's review (403).
enum SaveRetry {
    package static func begin(_ head: HTTPRequestHead, connection: any ClientStream, context: ServerContext, requestID: String) -> ServerExchange {
        let active = context.active
        let headers = active.config.headers
        let parts = head.path.split(separator: "/")
        let id = parts.count == 4 ? String(parts[2]) : ""
        let notFound = GatewayError(status: 404, code: "NOT_FOUND", message: "There is no save \(id) for you.")
        let exchange = DeferredExchange(connection: connection)
        context.state.journal.entry(id, on: context.loop) { entry in
            guard let entry, case .string(let owner)? = entry["identity"], case .string(let routeName)? = entry["route"],
                  let index = active.config.routes.firstIndex(where: { $0.name == routeName }) else {
                exchange.answerError(notFound, requestID: requestID, headers: headers)
                return
            }
            check(entry, owner: owner, id: id, plan: active.plans[index], head: head, connection: connection, context: context,
                  exchange: exchange, requestID: requestID)
        }
        return exchange
    }

    /// Identifies the caller as the route would; only the save's owner may retry it.
    private static func check(_ entry: JSONValue, owner: String, id: String, plan: RoutePlan, head: HTTPRequestHead, connection: any ClientStream,
                              context: ServerContext, exchange: DeferredExchange, requestID: String) {
        let active = context.active
        let headers = active.config.headers
        let notFound = GatewayError(status: 404, code: "NOT_FOUND", message: "There is no save \(id) for you.")
        let ctx = RequestContext(head: head, plan: plan, config: active.config, requestID: RequestID(requestID),
                                 peerIP: connection.peerIP, peerText: connection.peerText, server: context)
        let identify = plan.filters.requestHead.first { $0 is IdentityPolicy }
        func proceed() {
            guard ctx.identityKey == owner else { exchange.answerError(notFound, requestID: requestID, headers: headers); return }
            if case .string("invalid_output")? = entry["reason"] {
                let review = GatewayError(status: 403, code: "FORBIDDEN", message: "Save \(id) failed its output check; an operator reviews and replays it.")
                exchange.answerError(review, requestID: requestID, headers: headers)
                return
            }
            SaveReplay.run(id: id, entry: entry, context: context) { ok, status in
                let body = JSONText.object([("type", "\"save_status\""), ("success", ok ? "true" : "false"),
                                            ("save_id", JSONText.quote(id)), ("upstream_status", String(status))])
                exchange.answerJSON(status: ok ? 200 : 502, body: body, requestID: requestID, headers: headers)
            }
        }
        if let identify {
            identify.requestHead(ctx) { verdict in
                if case .reject(let e) = verdict { exchange.answerError(e, requestID: requestID, headers: headers) } else { proceed() }
            }
        } else {
            proceed()
        }
    }
}

/// An exchange answered later by Rampart itself (after a store or upstream round trip).
final class DeferredExchange: ServerExchange {
    package let connection: any ClientStream
    private var answered = false
    package init(connection: any ClientStream) { self.connection = connection }

    func answerJSON(status: Int, body: String, requestID: String, headers: HeadersConfig?) {
        guard !answered else { return }
        answered = true
        let bytes = Array((body + "\n").utf8)
        connection.sendHead(LocalReply.head(status: status, contentType: "application/json", bodyLength: bytes.count, requestID: requestID,
                                            headersConfig: headers, tls: connection.isTLS))
        _ = connection.sendBody(bytes)
        connection.endResponse()
    }

    func answerError(_ error: GatewayError, requestID: String, headers: HeadersConfig?) {
        guard !answered else { return }
        answered = true
        let (head, body) = LocalReply.error(error, requestID: requestID, headersConfig: headers, tls: connection.isTLS)
        connection.sendHead(head)
        _ = connection.sendBody(body)
        connection.endResponse()
    }

    package func requestBody(_ bytes: UnsafeRawBufferPointer) {}
    package func requestBodyEnded() {}
    package func resumeResponse() {}
    package func connectionClosed() { answered = true }
}
