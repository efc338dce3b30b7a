import RampartHTTP

// libFuzzer target for request validation (`validate.schema`, SPEC §6.4): RequestValidator with
// any schema that parses (SchemaNode compiles anything; patterns go to NSRegularExpression) and any
// body. Input: the schema's JSON, NUL, the body. Invariants, with and without `trim`:
//  - no crash on any schema and body pair (the walk, formats, patterns, enum comparison, trim);
//  - a body that passes is forwarded as valid JSON that passes again unchanged (a fixed point);
//    untrimmed it is the body itself, trimmed it has no string left to trim;
//  - a refusal always says why; "not JSON" only for a body that is not JSON at any depth, and a
//    valid body refused as JSON is refused for its depth;
//  - oracles for a valid body: the empty schema accepts it, `{"enum": [body]}` accepts it, and
//    `{"type": <its type>}` accepts it.

let maxDepth = 64

func validator(_ schema: JSONValue, trim: Bool = false) -> RequestValidator {
    RequestValidator(ValidateConfig(schema: schema, trim: trim), maxDepth: maxDepth)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let (schemaBytes, rest) = splitAtNUL(inputBytes(data, size))
    guard let body = rest, let schema = try? JSONValue.parse(schemaBytes) else { return 0 }
    let document = try? JSONValue.parse(body, maxDepth: maxDepth)
    let context = "schema \(show(schemaBytes)), body \(show(body))"

    for trim in [false, true] {
        let v = validator(schema, trim: trim)
        switch v.validate(body) {
        case .success(let out):
            require(document != nil, "a body that is not JSON (within \(maxDepth) levels) passed: \(context)")
            if !trim { require(out == body, "untrimmed body changed: \(context) -> \(show(out))") }
            guard let forwarded = try? JSONValue.parse(out, maxDepth: maxDepth) else {
                fatalError("invariant violated: forwarded body is not JSON: \(context) -> \(show(out))")
            }
            if trim { require(forwarded.trimmingStrings() == nil, "forwarded body still has strings to trim: \(context)") }
            require(v.validate(out) == .success(out), "forwarded body does not pass again unchanged: \(context) -> \(show(out))")
        case .failure(let failure):
            require(!failure.details.isEmpty, "refused without a detail: \(context)")
            if failure.notJSON {
                require(document == nil && (try? JSONValue.parse(body, maxDepth: 512)) == nil,
                        "JSON refused as not JSON: \(context)")
            } else if document == nil {
                require(failure.details == [ValidationDetail(field: "", message: "Must not be nested deeper than \(maxDepth) levels")],
                        "body that does not parse refused with \(failure.details): \(context)")
            }
        }
    }

    if let document {
        require(validator(.object([])).validate(body) == .success(body), "the empty schema refused \(context)")
        require(validator(.object([("enum", .array([document]))])).validate(body) == .success(body),
                "{\"enum\": [body]} refused its body: \(context)")
        require(validator(.object([("type", .string(document.typeName))])).validate(body) == .success(body),
                "{\"type\": \"\(document.typeName)\"} refused its body: \(context)")
    }
    return 0
}
