import Foundation
import RampartHTTP
import Testing

/// One entry of Tests/Fixtures/malformed-requests.json; `raw` maps to bytes as Latin-1.
struct MalformedCase: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var raw: String
    var status: Int
    var testDescription: String { name }
}

func loadMalformedCases() -> [MalformedCase] {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/malformed-requests.json")
    guard let data = try? Data(contentsOf: url),
        let cases = try? JSONDecoder().decode([MalformedCase].self, from: data)
    else { return [] }
    return cases
}

/// What the server would answer for `raw`: head failure, else chunked-body failure, else nil.
func rejection(_ raw: [UInt8]) -> HTTPParseError? {
    switch HTTPRequestParser.parseHead(raw) {
    case .failure(let e):
        return e
    case .incomplete:
        return nil
    case .complete(let head, let consumed):
        guard head.framing == .chunked else { return nil }
        var d = ChunkedDecoder()
        return d.decode(Array(raw[consumed...])) { _ in }.failureValue
    }
}

extension ChunkedDecodeResult {
    var failureValue: HTTPParseError? {
        if case .failure(let e) = self { return e }
        return nil
    }
}

let expectedCodes = [
    400: "BAD_REQUEST", 414: "URI_TOO_LONG", 417: "EXPECTATION_FAILED", 431: "HEADERS_TOO_LARGE",
    505: "HTTP_VERSION_NOT_SUPPORTED",
]

@Suite struct MalformedRequestFixtureTests {
    @Test func fixtureIsLargeAndWellFormed() {
        let cases = loadMalformedCases()
        #expect(cases.count >= 45)
        #expect(Set(cases.map(\.name)).count == cases.count)
        for c in cases {
            #expect(c.raw.contains("\r\n\r\n") || c.raw.contains("\n\n"), "\(c.name) must be a complete request")
            #expect(expectedCodes[c.status] != nil, "\(c.name) has unexpected status \(c.status)")
        }
    }

    @Test(arguments: loadMalformedCases())
    func rejectedWithFixtureStatus(_ c: MalformedCase) {
        let raw = latin1(c.raw)
        let error = rejection(raw)
        #expect(error?.status == c.status, "\(c.name): got \(String(describing: error))")
        #expect(error?.code == expectedCodes[c.status])
        #expect(error.map { !$0.message.isEmpty } ?? false)
    }

    /// Fed as it would arrive over a slow socket, no prefix may be accepted or refused differently.
    @Test(arguments: loadMalformedCases().filter { $0.raw.unicodeScalars.count <= 2048 })
    func everyPrefixIsIncompleteOrSameFailure(_ c: MalformedCase) {
        let raw = latin1(c.raw)
        let final = rejection(raw)
        for k in 0..<raw.count {
            switch HTTPRequestParser.parseHead(Array(raw[..<k])) {
            case .incomplete: continue
            case .failure(let e): #expect(e.status == final?.status, "\(c.name) prefix \(k): \(e)")
            case .complete(let head, let consumed):
                #expect(head.framing == .chunked, "\(c.name) prefix \(k) accepted")
                var d = ChunkedDecoder()
                let result = d.decode(Array(raw[consumed..<k])) { _ in }
                if case .finished = result { Issue.record("\(c.name) prefix \(k): body finished") }
                if let e = result.failureValue { #expect(e.status == final?.status) }
            }
        }
    }
}
