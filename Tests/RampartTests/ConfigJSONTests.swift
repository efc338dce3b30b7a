import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

@Suite struct ConfigJSONTests {
    @Test func parseKeepsKeyOrderAndTypes() throws {
        let value = try JSONValue.parse(#"{"z": 1, "a": [true, false, null], "m": {"s": "x"}, "n": -1.5e2}"#)
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["z", "a", "m", "n"])
        #expect(value["a"] == .array([.bool(true), .bool(false), .null]))
        #expect(value["m"]?["s"] == .string("x"))
        #expect(value["n"] == .number(-150))
    }

    @Test func stringEscapesRoundTrip() throws {
        let text = #"{"s":"q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u0001"}"#
        let value = try JSONValue.parse(text)
        #expect(value["s"] == .string("q\" b\\ s/ \u{8}\u{c}\n\r\t é 😀 \u{1}"))
        #expect(value.jsonText() == #"{"s":"q\" b\\ s/ \b\f\n\r\t é 😀 \u0001"}"#)
        #expect(try JSONValue.parse(value.jsonText()) == value)
    }

    @Test func serializesCompactly() {
        let value = JSONValue.object([("b", .number(10)), ("a", .array([.number(0.2), .number(-3), .null, .bool(true)])),
                                      ("c", .object([])), ("d", .string("</script>\u{7f}"))])
        #expect(value.jsonText() == #"{"b":10,"a":[0.2,-3,null,true],"c":{},"d":"</script>\u007f"}"#)
        #expect(JSONValue.number(.infinity).jsonText() == "null")
    }

    @Test(arguments: [
        ("{\"a\":1,}", "1:8: unexpected '}', expected a key in double quotes"),
        ("[1,]", "1:4: unexpected ']', expected a value"),
        ("{\"a\" 1}", "1:6: unexpected '1', expected ':' after the key"),
        ("01", "1:1: invalid number: leading zero"),
        ("1.", "1:3: invalid number: expected a digit after '.'"),
        ("\"abc", "1:5: unterminated string"),
        ("\"a\nb\"", "1:3: control character in string; escape it"),
        ("\"\\x\"", "1:2: invalid escape \\x"),
        ("\"\\ud800\"", "1:2: unpaired UTF-16 surrogate in \\u escape"),
        ("tru", "1:1: unexpected 't', expected a value"),
        ("{} {}", "1:4: unexpected '{' after the JSON value"),
        ("\n\n  ]", "3:3: unexpected ']', expected a value"),
        ("{\"a\":1,\"a\":2}", "1:8: duplicate key \"a\""),
    ])
    func syntaxErrors(text: String, message: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(text) }
        do throws(JSONSyntaxError) {
            _ = try JSONValue.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) }
        #expect((try? JSONValue.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))) != nil)
        #expect((try? JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8))) == .object([]))
    }

    @Test func largeObjectsStillDetectDuplicates() {
        let members = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        #expect((try? JSONValue.parse("{\(members)}")) != nil)
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("{\(members),\"k7\":0}") }
    }

    @Test func durations() {
        #expect(parseDuration("250ms") == .milliseconds(250))
        #expect(parseDuration("10s") == .seconds(10))
        #expect(parseDuration("5m") == .seconds(300))
        #expect(parseDuration("1h") == .seconds(3600))
        #expect(parseDuration("1d") == .seconds(86_400))
        for bad in ["", "0s", "-1s", "1", "1.5s", "1 h", "1H", "s", "10sec", " 1s", "9999999999999s"] {
            #expect(parseDuration(bad) == nil, "\(bad)")
        }
        #expect(formatDuration(.seconds(3600)) == "1h")
        #expect(formatDuration(.seconds(90)) == "90s")
        #expect(formatDuration(.milliseconds(1500)) == "1500ms")
        #expect(formatDuration(.seconds(86_400 * 2)) == "2d")
        #expect(Duration.seconds(2).configMilliseconds == 2000)
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(Array(repeating: UInt8(ascii: "a"), count: 1000))
            == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func addressParsing() {
        #expect(CIDR.parseAddress("127.0.0.1") == [127, 0, 0, 1])
        #expect(CIDR.parseAddress("::1")?.count == 16)
        #expect(CIDR.parseAddress("1.2.3") == nil && CIDR.parseAddress("localhost") == nil)
        #expect(CIDR.parse("10.1.2.3/8")?.contains([10, 9, 9, 9]) == true)
        #expect(CIDR.parse("10.0.0.0/8")?.contains([11, 0, 0, 1]) == false)
        #expect(CIDR.parse("127.0.0.1") == CIDR(address: [127, 0, 0, 1], prefixLength: 32))
        #expect(CIDR.parse("10.0.0.0/") == nil && CIDR.parse("10.0.0.0/+8") == nil)
        #expect(SocketAddress.parse("localhost:9901") == SocketAddress(host: "localhost", port: 9901))
        #expect(SocketAddress.parse("[::1]:80")?.isLoopback == true)
        #expect(SocketAddress.parse("127.0.0.1:65536") == nil && SocketAddress.parse("127.0.0.1:") == nil)
    }
}
