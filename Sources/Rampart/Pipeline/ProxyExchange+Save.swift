/// The end of a confirmed-save stream: the upstream is done, the save takes over the end of the
/// response (`ConfirmedSave`), and calls back here to add its event and finish.
extension ProxyExchange: ResponseTail {
    func handOverToSave(clean: Bool) {
        guard let save else { return }
        stage = .saving
        call?.cancel(); call = nil
        disarmTimeout()
        save.responseEnded(clean: clean, cutError: cutError, tail: self)
    }

    func appendToResponse(_ bytes: [UInt8]) {
        bodyBytesOut += bytes.count
        _ = connection.sendBody(bytes)
    }

    func finishResponse(error: String?) {
        guard !completed else { return }
        stage = .done
        connection.endResponse()
        complete(status: upstreamStatus ?? 200, error: error ?? (clientGone ? "client_closed" : nil))
    }

    var requestBodyForTemplates: [UInt8]? { replayBody }
}
