import RampartHTTP

// Shared by the request-head and response-head targets: the one-pass writers of a proxy hop
// against the field lists they stand for. Whatever fields a parsed head holds:
//  - a forwarded response head (its hop-by-hop fields and X-Request-Id left behind, Via, an id
//    with a control byte, route and config fields added) writes, under each set of framing
//    edits, the bytes its materialized list gives once edited and serialised;
//  - a forwarded request (hop-by-hop fields and Content-Length left behind, the client's Host
//    replaced, X-Forwarded-* added) writes the lines its materialized list gives.

func checkForwardedResponse(_ head: HTTPResponseHead) {
    guard head.status >= 200, head.headers.count <= 64 else { return }
    var dropped: UInt64 = 0
    head.headers.withFieldBytes { f in
        for i in 0..<f.count where f.knownName(i).isHopByHop || f.knownName(i) == .requestID { dropped |= 1 << UInt64(i) }
    }
    var stage = HTTPHeaders()
    stage.add(literal: "RateLimit", literal: "\"default\";r=1;t=2")
    let fixed = FixedFields(HTTPHeaders([HTTPField.checked(name: "X-Frame-Options", value: "DENY")]))
    var close = HeadEdits()
    close.dropContentLength = true; close.dropTransferEncoding = true; close.addChunked = true; close.connection = .close
    var keepAlive = HeadEdits()
    keepAlive.connection = .keepAlive
    for edits in [HeadEdits(), close, keepAlive] {
        let forwarded = ForwardedResponseHead(status: head.status, reason: nil, upstream: head.headers, dropped: dropped,
                                              requestID: "01J\u{1}id", stage: stage, fixed: fixed)
        var out = [UInt8](repeating: 0, count: forwarded.serializedSizeBound)
        let n = out.withUnsafeMutableBufferPointer { forwarded.serialize(to: $0.baseAddress!, edits: edits) }
        var listed = forwarded.materialized()
        edits.apply(to: &listed.headers)
        require(Array(out[..<n]) == listed.serialized(), "forwarded response head \(edits): \(show(out[..<n])) but \(show(listed.serialized()))")
    }
}

func checkForwardedRequest(_ head: HTTPRequestHead) {
    guard head.headers.count <= 64 else { return }
    var fields = ForwardedRequestFields(head.headers)
    var host: Int?
    head.headers.withFieldBytes { f in
        for i in 0..<f.count {
            let k = f.knownName(i)
            if k.isHopByHop || k == .contentLength { fields.dropped |= 1 << UInt64(i) } else if k == .host && host == nil { host = i }
        }
    }
    fields.forwardedFor = "127.0.0.1"; fields.forwardedProto = "http"; fields.via = "1.1 rampart"; fields.requestID = "01Jid"
    if let host { fields.forwardedHostOf = host; fields.replacedHost = host; fields.replacedHostValue = "upstream:8443" } else { fields.host = "upstream" }
    var out = [UInt8](repeating: 0, count: fields.lineBytes)
    let n = out.withUnsafeMutableBufferPointer { $0.baseAddress!.distance(to: fields.writeLines(to: $0.baseAddress!)) }
    let listed = fields.materialized()
    var expected = [UInt8](repeating: 0, count: listed.withFieldBytes { $0.lineBytes })
    let m = expected.withUnsafeMutableBufferPointer { b in listed.withFieldBytes { b.baseAddress!.distance(to: $0.writeLines(to: b.baseAddress!)) } }
    require(Array(out[..<n]) == Array(expected[..<m]), "forwarded request fields: \(show(out[..<n])) but \(show(expected[..<m]))")
}
