/// A JSON syntax error located by line and column (both 1-based), so a config typo is easy to find.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "\(line):\(column): \(message)" }
}

extension JSONValue {
    /// Parses strict RFC 8259 JSON keeping object key order. Duplicate keys are rejected: two
    /// readers of the same document must never disagree on its meaning.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 512) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth, rejectDuplicates: true)
        return try parser.parseDocument()
    }

    /// Convenience for tests and literals in code.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

/// Recursive-descent parser over UTF-8 bytes. Line/column are computed only when an error is
/// reported, so the happy path does no position bookkeeping.
package struct JSONParser {
    /// A duplicate key seen while `rejectDuplicates` is false, with the JSON path of the repeat.
    package struct Duplicate { package var path: String; package var line: Int; package var column: Int }

    private enum PathComponent { case key(String), index(Int) }

    package let bytes: [UInt8]
    package let maxDepth: Int
    package let rejectDuplicates: Bool
    private var pos = 0
    private var depth = 0
    private var pathStack: [PathComponent] = []
    package private(set) var duplicates: [Duplicate] = []

    package init(bytes: [UInt8], maxDepth: Int = 512, rejectDuplicates: Bool) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.rejectDuplicates = rejectDuplicates
    }

    package mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        // A UTF-8 byte order mark is tolerated: some editors write one.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if pos < bytes.count { throw error("unexpected \(describe(pos)) after the JSON value") }
        return value
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard pos < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected \(describe(pos)), expected a value")
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        pos += 1
        var members: [(key: String, value: JSONValue)] = []
        var seen: Set<String>? = nil   // built only for large objects; small ones use a linear scan
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; depth -= 1; return .object(members) }
        while true {
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else {
                throw error(pos < bytes.count ? "unexpected \(describe(pos)), expected a key in double quotes"
                                              : "unexpected end of input, expected a key")
            }
            let keyStart = pos
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after the key")
            skipWhitespace()
            let isDuplicate: Bool
            if members.count >= 16 {
                if seen == nil { seen = Set(members.map(\.key)) }
                isDuplicate = !seen!.insert(key).inserted
            } else {
                isDuplicate = members.contains { $0.key == key }
            }
            pathStack.append(.key(key))
            let value = try parseValue()
            if isDuplicate {
                if rejectDuplicates { pos = keyStart; throw error("duplicate key \(JSONValue.string(key).jsonText())") }
                let (line, column) = location(of: keyStart)
                duplicates.append(Duplicate(path: currentPath(), line: line, column: column))
            } else {
                members.append((key, value))
            }
            pathStack.removeLast()
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of input, expected ',' or '}'") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; break }
            throw error("unexpected \(describe(pos)), expected ',' or '}'")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        pos += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; depth -= 1; return .array(elements) }
        while true {
            skipWhitespace()
            pathStack.append(.index(elements.count))
            elements.append(try parseValue())
            pathStack.removeLast()
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of input, expected ',' or ']'") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw error("unexpected \(describe(pos)), expected ',' or ']'")
        }
        depth -= 1
        return .array(elements)
    }

    // MARK: - Scalars

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        pos += 1   // opening quote
        let start = pos
        // Fast path: no escapes, so the bytes between the quotes are the string.
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                let s = try decodeUTF8(start, pos)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("control character in string; escape it") }
            pos += 1
        }
        var buffer = Array(bytes[start..<pos])
        while pos < bytes.count {
            let c = bytes[pos]
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                guard let s = String(validating: buffer, as: UTF8.self) else {
                    pos = start
                    throw error("string is not valid UTF-8")
                }
                return s
            case UInt8(ascii: "\\"):
                try parseEscape(into: &buffer)
            case 0..<0x20:
                throw error("control character in string; escape it")
            default:
                buffer.append(c)
                pos += 1
            }
        }
        throw error("unterminated string")
    }

    private func decodeUTF8(_ from: Int, _ to: Int) throws(JSONSyntaxError) -> String {
        // Over the contiguous bytes: the generic slice path validates byte by byte, slowly.
        let decoded = bytes.withUnsafeBufferPointer { String(validating: UnsafeBufferPointer(rebasing: $0[from..<to]), as: UTF8.self) }
        guard let s = decoded else {
            throw error("string is not valid UTF-8", at: from)
        }
        return s
    }

    private mutating func parseEscape(into buffer: inout [UInt8]) throws(JSONSyntaxError) {
        pos += 1
        guard pos < bytes.count else { throw error("unterminated string") }
        let c = bytes[pos]
        pos += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(c)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired UTF-16 surrogate in \\u escape", at: pos - 6)
                }
                pos += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired UTF-16 surrogate in \\u escape", at: pos - 12) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired UTF-16 surrogate in \\u escape", at: pos - 6)
            }
            UTF8.encode(Unicode.Scalar(scalar)!) { buffer.append($0) }
        default:
            throw error("invalid escape \\\(Character(Unicode.Scalar(c)))", at: pos - 2)
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("unterminated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            pos += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = pos
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count, isDigit(bytes[pos]) else { throw error("invalid number: expected a digit") }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < bytes.count, isDigit(bytes[pos]) { throw error("invalid number: leading zero", at: start) }
        } else {
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw error("invalid number: expected a digit after '.'") }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw error("invalid number: expected a digit in the exponent") }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("number \(text) is out of range", at: start) }
        return value
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        var i = pos
        for c in word.utf8 {
            guard i < bytes.count, bytes[i] == c else { throw error("unexpected \(describe(pos)), expected a value") }
            i += 1
        }
        pos = i
    }

    // MARK: - Helpers

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard pos < bytes.count else { throw error("unexpected end of input, expected \(what)") }
        guard bytes[pos] == byte else { throw error("unexpected \(describe(pos)), expected \(what)") }
        pos += 1
    }

    private func describe(_ at: Int) -> String {
        let c = bytes[at]
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return c == 0x20 ? "space" : "byte 0x\(String(c, radix: 16, uppercase: true))"
    }

    private func currentPath() -> String {
        var path = ""
        for component in pathStack {
            switch component {
            case .key(let k): path = ConfigPath.key(path, k)
            case .index(let i): path = ConfigPath.index(path, i)
            }
        }
        return path
    }

    /// 1-based line and column (in Unicode scalars) of a byte offset.
    package func location(of offset: Int) -> (line: Int, column: Int) {
        var line = 1, column = 1
        var i = 0
        let end = min(offset, bytes.count)
        while i < end {
            let c = bytes[i]
            if c == 0x0A { line += 1; column = 1 } else if c & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return (line, column)
    }

    private func error(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        let (line, column) = location(of: offset ?? pos)
        return JSONSyntaxError(line: line, column: column, message: message)
    }
}
