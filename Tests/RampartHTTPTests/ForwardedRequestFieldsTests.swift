import Testing
@testable import RampartHTTP

/// The upstream request's fields written in one pass (`ForwardedRequestFields.writeLines`) are
/// the bytes of the same fields made into one list (`materialized()`), for every mix of fields
/// left behind, a replaced Host and the forwarding fields added.
@Suite struct ForwardedRequestFieldsTests {
    static func client(_ count: Int) -> HTTPHeaders {
        var h = HTTPHeaders()
        for i in 0..<count { h.add(i == 1 ? "Host" : "X-Field-\(i)", String(repeating: "v", count: i % 7) + "\(i)") }
        return h
    }

    static func written(_ f: ForwardedRequestFields) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: f.lineBytes)
        let n = out.withUnsafeMutableBufferPointer { $0.baseAddress!.distance(to: f.writeLines(to: $0.baseAddress!)) }
        return Array(out[..<n])
    }

    static func lines(_ h: HTTPHeaders) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: h.withFieldBytes { $0.lineBytes })
        let n = out.withUnsafeMutableBufferPointer { b in h.withFieldBytes { b.baseAddress!.distance(to: $0.writeLines(to: b.baseAddress!)) } }
        return Array(out[..<n])
    }

    @Test func theOnePassWritesTheMaterializedList() {
        for count in [2, 5, 64] {
            for dropped: UInt64 in [0, 1, 0b101, count == 64 ? ~0 : 0, 1 << 63] {
                for hostAdded in [false, true] {
                    for replaced in [false, true] {
                        var f = ForwardedRequestFields(Self.client(count))
                        f.dropped = dropped & ~2   // the Host at 1 stays when it is referred to
                        f.host = hostAdded ? "upstream:8080" : nil
                        f.forwardedFor = "10.0.0.1, 127.0.0.1"
                        f.forwardedProto = "https"
                        f.forwardedHostOf = 1
                        if replaced { f.replacedHost = 1; f.replacedHostValue = "api.provider.example" }
                        f.via = "1.1 rampart"
                        f.requestID = "01JTESTREQUESTID00000000000"
                        let list = f.materialized()
                        #expect(Self.written(f) == Self.lines(list), "count \(count) dropped \(dropped) host \(hostAdded) replaced \(replaced)")
                        #expect(list.count == count - (f.dropped & (count == 64 ? ~0 : (1 << UInt64(count)) - 1)).nonzeroBitCount + (hostAdded ? 6 : 5))
                        if replaced { #expect(list["Host"] == "api.provider.example") }
                        #expect(list["X-Forwarded-Host"] == "v1", "X-Forwarded-Host keeps the client's Host")
                    }
                }
            }
        }
    }

    /// A plain list (no edits) is its base, written as it is.
    @Test func aPlainListIsItsBase() {
        let h = Self.client(5)
        let f = ForwardedRequestFields(h)
        #expect(f.isPlain)
        #expect(f.materialized() == h)
        #expect(Self.written(f) == Self.lines(h))
    }
}
