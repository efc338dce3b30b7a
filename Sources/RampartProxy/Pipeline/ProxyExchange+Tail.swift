import RampartHTTP
import RampartLoop
import RampartTransport
/// The response as response filters drive it. A confirmed save takes over the end of a stream
/// (`ConfirmedSave`) and calls back here to add its event and finish; an intercepting filter
/// (error scrubbing) replaces the response with Rampart's own.
extension ProxyExchange: ResponseTail {
    func replaceResponse(with error: GatewayError, note: String) {
        guard stage == .intercepted else { return }
        attempts?.cancel()
        sendError(error, logStatus: error.status, upstreamNote: note)
    }

    /// The upstream's body ended or was cut: the filter that holds the end takes over.
    func handOverEnd(clean: Bool) {
        guard let endHolder, stage == .proxying else { return }
        stage = .saving
        attempts?.cancel()
        endHolder.responseEnded(clean: clean, cutError: facts.cutError)
    }

    func appendToResponse(_ bytes: [UInt8]) {
        facts.bytesOut += bytes.count
        _ = connection.sendBody(bytes)
    }

    func finishResponse(error: String?) {
        guard !completed else { return }
        stage = .done
        connection.endResponse()
        complete(status: facts.upstreamStatus ?? 200, error: error ?? (clientGone ? "client_closed" : nil))
    }

    var requestBodyForTemplates: [UInt8]? { attempts?.replayBody }
}
