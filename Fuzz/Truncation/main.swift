import RampartHTTP

// libFuzzer target for the token-budget truncation of chat bodies (`truncate`, SPEC §8.1):
// ChatTruncator's validating byte scanner, its plan and its splice. Input: four config bytes
// (format: openai, anthropic, pointer /a/0/messages, pointer "", pointer /m~1x~0/messages, or a
// pointer that is not one; the budget in tokens; characters per token; image tokens), then the body.
// Invariants:
//  - the scanner accepts only JSON: a body it accepts parses (Rampart's JSONParser, duplicates
//    allowed), except numbers out of Double's range and lone surrogate escapes, which JSON's
//    grammar allows; and it refuses no JSON nested less deeply than its limit;
//  - the output is valid JSON within the budget: nothing dropped means the very bytes and the
//    same count; something dropped means tokens after <= budget, and the output parses whenever the
//    body does;
//  - truncation is idempotent: the output truncated again drops nothing and counts exactly the
//    tokens the first pass reported;
//  - only messages go: with the body parsed (no duplicate keys), the output equals it except for
//    the messages array, which becomes a subsequence of the original one, `dropped` shorter, that
//    still ends with the newest message; a refusal for a missing array means there is none;
//  - "too large" is only said of a count above the budget.

let pointers: [String?] = [nil, nil, "/a/0/messages", "", "/m~1x~0/messages", "messages"]

func tokens(_ pointer: String) -> [String] {
    pointer.isEmpty ? [] : pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
        String($0).replacing("~1", with: "/").replacing("~0", with: "~")
    }
}

func index(_ t: String) -> Int? {
    guard !t.isEmpty, t.count < 10, t.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), t == "0" || !t.hasPrefix("0") else { return nil }
    return Int(t)
}

/// The value at `path` and the document with it replaced by `replacement`.
func locate(_ v: JSONValue, _ path: ArraySlice<String>, replacing replacement: JSONValue) -> (found: JSONValue?, rest: JSONValue) {
    guard let t = path.first else { return (v, replacement) }
    switch v {
    case .object(var members):
        guard let k = members.firstIndex(where: { Array($0.key.utf8) == Array(t.utf8) }) else { return (nil, v) }
        let (found, rest) = locate(members[k].value, path.dropFirst(), replacing: replacement)
        members[k].value = rest
        return (found, .object(members))
    case .array(var elements):
        guard let i = index(t), i < elements.count else { return (nil, v) }
        let (found, rest) = locate(elements[i], path.dropFirst(), replacing: replacement)
        elements[i] = rest
        return (found, .array(elements))
    default:
        return (nil, v)
    }
}

func depth(_ v: JSONValue) -> Int {
    switch v {
    case .array(let a): return 1 + (a.map(depth).max() ?? 0)
    case .object(let o): return 1 + (o.map { depth($0.value) }.max() ?? 0)
    default: return 0
    }
}

func lenient(_ bytes: [UInt8]) -> Result<JSONValue, JSONSyntaxError> {
    var p = JSONParser(bytes: bytes, rejectDuplicates: false)
    do { return .success(try p.parseDocument()) } catch { return .failure(error) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 4 else { return 0 }
    let pointer = pointers[Int(data[0]) % pointers.count]
    let format: TruncateConfig.Format = pointer.map { .pointer($0) } ?? (data[0] % 2 == 1 ? .anthropic : .openai)
    let budget = Int(data[1])
    let config = TruncateConfig(format: format, budgetTokens: budget, charsPerToken: Double(data[2] % 9), imageTokens: Int(data[3]))
    let body = Array(UnsafeBufferPointer(start: data + 4, count: size - 4))
    let truncator = ChatTruncator(config)
    let result = truncator.truncate(body)
    let context = "\(format), budget \(budget), \(config.charsPerToken) chars/token, image \(config.imageTokens): \(show(body))"
    let parsed = lenient(body)
    let strict = try? JSONValue.parse(body)
    let path = tokens(pointer ?? "/messages")[...]

    switch result {
    case .success(let r):
        if case .failure(let e) = parsed {
            require(e.message.contains("out of range") || e.message.contains("surrogate"), "accepted a body that is not JSON (\(e)): \(context)")
        }
        require(r.tokensBefore >= 0 && r.tokensAfter >= 0 && r.dropped >= 0, "negative figures \(r): \(context)")
        if r.dropped == 0 {
            require(r.body == body && r.tokensAfter == r.tokensBefore, "nothing dropped but body or count changed: \(context)")
        } else {
            require(r.tokensAfter <= budget && r.tokensAfter <= r.tokensBefore, "\(r.tokensBefore)->\(r.tokensAfter) tokens for budget \(budget): \(context)")
            if case .success = parsed {
                guard case .success = lenient(r.body) else { fatalError("invariant violated: output is not JSON: \(context) -> \(show(r.body))") }
            }
        }
        guard case .success(let again) = truncator.truncate(r.body), again.dropped == 0, again.tokensBefore == r.tokensAfter else {
            fatalError("invariant violated: not idempotent (\(r.tokensAfter) tokens): \(context) -> \(show(r.body)) -> \(truncator.truncate(r.body))")
        }
        if let strict {
            guard let output = try? JSONValue.parse(r.body) else { fatalError("invariant violated: output lost its keys: \(context) -> \(show(r.body))") }
            let before = locate(strict, path, replacing: .null), after = locate(output, path, replacing: .null)
            require(before.rest == after.rest, "more than the messages changed: \(context) -> \(show(r.body))")
            guard case .array(let old)? = before.found, case .array(let new)? = after.found else {
                fatalError("invariant violated: truncated without a messages array: \(context)")
            }
            var k = 0
            for m in old where k < new.count && new[k] == m { k += 1 }
            require(k == new.count && new.count == old.count - r.dropped && (old.isEmpty || new.last == old.last),
                    "\(new.count) kept of \(old.count), \(r.dropped) dropped, not a subsequence ending with the newest: \(context) -> \(show(r.body))")
        }
    case .failure(.contextTooLarge(let tokens, let b)):
        require(b == budget && tokens > budget, "too large: \(tokens) for budget \(b): \(context)")
    case .failure(.notJSON(let why)):
        if case .success(let v) = parsed, !body.starts(with: [0xEF, 0xBB, 0xBF]) {
            require(depth(v) > 120, "JSON refused as not JSON (\(why)): \(context)")
        }
    case .failure(.tooDeep):
        if case .success(let v) = parsed { require(depth(v) > 120, "\(depth(v)) levels refused as too deep: \(context)") }
    case .failure(.messagesNotArray(let why)):
        if let strict, pointer != "messages" {
            if case .array? = locate(strict, path, replacing: .null).found { fatalError("invariant violated: array said missing (\(why)): \(context)") }
        }
    }
    return 0
}
