import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

@Suite struct RESPTests {
    private static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Decodes `input` fed in chunks of `step` bytes (0: all at once), collecting every value.
    private static func decodeAll(_ input: [UInt8], step: Int, limits: RESPDecoder.Limits = .init()) throws(RESPDecodeError) -> [RESPValue] {
        var d = RESPDecoder(limits: limits)
        var out: [RESPValue] = []
        var i = 0
        let chunk = step == 0 ? max(1, input.count) : step
        repeat {
            let end = min(input.count, i + chunk)
            d.feed(input[i..<end])
            i = end
            while let v = try d.next() { out.append(v) }
        } while i < input.count
        return out
    }

    static let valid: [(String, [RESPValue])] = [
        ("+OK\r\n", [.simpleString("OK")]),
        ("+\r\n", [.simpleString("")]),
        ("-ERR unknown command 'x'\r\n", [.error("ERR unknown command 'x'")]),
        ("-NOSCRIPT No matching script. Please use EVAL.\r\n", [.error("NOSCRIPT No matching script. Please use EVAL.")]),
        (":0\r\n", [.integer(0)]),
        (":-42\r\n", [.integer(-42)]),
        (":9223372036854775807\r\n", [.integer(Int64.max)]),
        (":-9223372036854775808\r\n", [.integer(Int64.min)]),
        ("$5\r\nhello\r\n", [.bulk("hello")]),
        ("$0\r\n\r\n", [.bulkString([])]),
        ("$-1\r\n", [.null]),
        ("$4\r\na\r\nb\r\n", [.bulkString(b("a\r\nb"))]),            // CRLF inside a bulk string
        ("*0\r\n", [.array([])]),
        ("*-1\r\n", [.array(nil)]),
        ("*2\r\n$3\r\nfoo\r\n:7\r\n", [.array([.bulk("foo"), .integer(7)])]),
        ("*3\r\n*2\r\n:1\r\n:2\r\n*0\r\n$-1\r\n", [.array([.array([.integer(1), .integer(2)]), .array([]), .null])]),
        ("*1\r\n*1\r\n*1\r\n*-1\r\n", [.array([.array([.array([.array(nil)])])])]),
        ("*2\r\n-ERR inner\r\n+ok\r\n", [.array([.error("ERR inner"), .simpleString("ok")])]),
        ("+a\r\n:1\r\n$1\r\nx\r\n*1\r\n+b\r\n", [.simpleString("a"), .integer(1), .bulk("x"), .array([.simpleString("b")])]),
        ("*2\r\n*1\r\n:1\r\n:2\r\n*1\r\n:3\r\n", [.array([.array([.integer(1)]), .integer(2)]), .array([.integer(3)])]),
    ]

    @Test(arguments: 0..<valid.count)
    func decodesEverySplit(_ i: Int) throws {
        let (text, expected) = Self.valid[i]
        let input = Self.b(text)
        for step in [0, 1, 2, 3, 5, 7] {
            #expect(try Self.decodeAll(input, step: step) == expected, "step \(step): \(text.debugDescription)")
        }
    }

    @Test func incompleteInputYieldsNothingYet() throws {
        for text in ["+OK", "+OK\r", ":12", "$5\r\nhel", "$5\r\nhello\r", "*2\r\n:1\r\n", "*2\r\n*1\r\n", "$", "*"] {
            var d = RESPDecoder()
            d.feed(Self.b(text))
            #expect(try d.next() == nil, "\(text.debugDescription)")
            #expect(!d.isIdle)
        }
        var d = RESPDecoder()
        #expect(try d.next() == nil)
        #expect(d.isIdle)
    }

    static let invalid: [String] = [
        "?x\r\n",                 // unknown type
        ":12a\r\n",               // not an integer
        ":\r\n",                  // empty integer
        ":-\r\n",
        ":99999999999999999999\r\n",  // overflow
        "$-2\r\n",                // bad length
        "$x\r\n",
        "$3\r\nabcd\r\n",         // payload longer than declared
        "*-2\r\n",
        "*x\r\n",
        "+OK\rX",                 // CR without LF
        "+OK\n",                  // bare LF
        "*1\r\n?\r\n",            // bad element inside an array
    ]

    @Test(arguments: invalid)
    func rejectsMalformed(_ text: String) {
        for step in [0, 1] {
            #expect(throws: RESPDecodeError.self, "step \(step): \(text.debugDescription)") { _ = try Self.decodeAll(Self.b(text), step: step) }
        }
    }

    @Test func errorsAreSticky() throws {
        var d = RESPDecoder()
        d.feed(Self.b("?bad\r\n+OK\r\n"))
        #expect(throws: RESPDecodeError.self) { _ = try d.next() }
        #expect(throws: RESPDecodeError.self) { _ = try d.next() }
        d.reset()
        d.feed(Self.b("+OK\r\n"))
        #expect(try d.next() == .simpleString("OK"))
    }

    @Test func enforcesLimits() {
        let limits = RESPDecoder.Limits(maxBulkBytes: 4, maxLineBytes: 8, maxArrayCount: 3, maxDepth: 2)
        let cases: [(String, Bool)] = [
            ("$4\r\nabcd\r\n", true), ("$5\r\nabcde\r\n", false),
            ("+1234567\r\n", true), ("+123456789\r\n", false),
            ("*3\r\n:1\r\n:2\r\n:3\r\n", true), ("*4\r\n", false),
            ("*1\r\n*1\r\n:1\r\n", true), ("*1\r\n*1\r\n*1\r\n:1\r\n", false),
        ]
        for (text, ok) in cases {
            for step in [0, 1] {
                let r = Result { () throws(RESPDecodeError) in try Self.decodeAll(Self.b(text), step: step, limits: limits) }
                #expect((try? r.get()) != nil ? ok : !ok, "\(text.debugDescription) step \(step)")
            }
        }
        // A line that never ends is refused once over the limit rather than buffered forever.
        var d = RESPDecoder(limits: limits)
        d.feed(Self.b("+" + String(repeating: "a", count: 20)))
        #expect(throws: RESPDecodeError.self) { _ = try d.next() }
        // A huge declared bulk is refused from its header, before any payload arrives.
        var h = RESPDecoder()
        h.feed(Self.b("$999999999999\r\n"))
        #expect(throws: RESPDecodeError.self) { _ = try h.next() }
    }

    @Test func encodesCommandsAsBulkArrays() {
        #expect(RESPEncoder.command(["PING"]) == Self.b("*1\r\n$4\r\nPING\r\n"))
        #expect(RESPEncoder.command(["SET", "k", ""]) == Self.b("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"))
        #expect(RESPEncoder.command(["ECHO", "é\r\n"]) == Self.b("*2\r\n$4\r\nECHO\r\n$4\r\né\r\n\r\n"))
        var out: [UInt8] = []
        RESPEncoder.appendCommand([Self.b("GET"), [0, 255]], to: &out)
        #expect(out == Self.b("*2\r\n$3\r\nGET\r\n$2\r\n") + [0, 255, 13, 10])
    }

    @Test func roundTripsThroughTheDecoder() throws {
        let values: [RESPValue] = [
            .simpleString("OK"), .error("ERR x"), .integer(-5), .bulk(""), .null, .array(nil), .array([]),
            .array([.integer(1), .array([.bulk("a"), .null, .array([.error("E")])]), .bulkString([0, 13, 10])]),
        ]
        var wire: [UInt8] = []
        for v in values { RESPEncoder.append(v, to: &wire) }
        #expect(try Self.decodeAll(wire, step: 1) == values)
        #expect(try Self.decodeAll(wire, step: 0) == values)
        let command = RESPEncoder.command(["EVALSHA", "abc", "1", "k"])
        #expect(try Self.decodeAll(command, step: 1) == [.array([.bulk("EVALSHA"), .bulk("abc"), .bulk("1"), .bulk("k")])])
    }

    @Test func manyPipelinedRepliesFedInOddChunks() throws {
        var wire: [UInt8] = []
        var expected: [RESPValue] = []
        for i in 0..<2000 {
            let v: RESPValue = i % 3 == 0 ? .integer(Int64(i)) : i % 3 == 1 ? .bulk(String(repeating: "x", count: i % 50)) : .array([.integer(Int64(i)), .null])
            RESPEncoder.append(v, to: &wire); expected.append(v)
        }
        #expect(try Self.decodeAll(wire, step: 4093) == expected)
        #expect(try Self.decodeAll(wire, step: 13) == expected)
    }

    @Test func accessors() {
        #expect(RESPValue.bulk("12").int == 12)
        #expect(RESPValue.simpleString("x").string == "x")
        #expect(RESPValue.bulk("1700000000123").double == 1_700_000_000_123)
        #expect(RESPValue.integer(3).string == nil)
        #expect(RESPValue.null.isNull && RESPValue.array(nil).isNull && !RESPValue.array([]).isNull)
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.array([.bulk("a"), .null]).description == "[\"a\", (nil)]")
    }
}
