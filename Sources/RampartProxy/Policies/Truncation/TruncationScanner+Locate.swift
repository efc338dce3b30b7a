import RampartHTTP
import RampartLoop
import RampartTransport
/// Finding the messages array (and Anthropic's `system`) while validating the whole body.
extension TruncationScanner {
    /// Walks the value at the cursor along `path` (decoded JSON pointer tokens from `level` on).
    /// Every value off the path is still validated, so malformed JSON anywhere is refused.
    mutating func locate(_ path: [[UInt8]], level: Int, depth: Int, system: Bool, into doc: inout TruncationDocument) throws(TruncationError) {
        if level == path.count {
            if try peek() == 0x5B { return try messages(depth: depth, into: &doc) }
            doc.found = .notArray
            return try skipValue(depth: depth)
        }
        let token = path[level]
        switch try peek() {
        case 0x7B:
            guard try open(0x7B, depth: depth) else { return }
            repeat {
                let k = try key()
                if equals(k, token) {
                    try locate(path, level: level + 1, depth: depth + 1, system: false, into: &doc)
                } else if system, equals(k, "system") {
                    var unused = TruncationMessage(start: 0, end: 0)
                    doc.system = TruncationCost()
                    try content(depth: depth + 1, into: &doc.system, message: &unused)
                } else {
                    try skipValue(depth: depth + 1)
                }
            } while try next(0x7D)
        case 0x5B:
            let index = Self.arrayIndex(token)
            guard try open(0x5B, depth: depth) else { return }
            var n = 0
            repeat {
                if n == index { try locate(path, level: level + 1, depth: depth + 1, system: false, into: &doc) }
                else { try skipValue(depth: depth + 1) }
                n += 1
            } while try next(0x5D)
        default:
            try skipValue(depth: depth)
        }
    }

    /// RFC 6901 array index: digits without a leading zero; anything else matches no element.
    static func arrayIndex(_ token: [UInt8]) -> Int {
        guard !token.isEmpty, token.count < 10, token.allSatisfy({ $0 &- 0x30 < 10 }),
              token == [0x30] || token[0] != 0x30 else { return -1 }
        return token.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}
