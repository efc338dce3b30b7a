import RampartHTTP

/// A save route's `validate` (SPEC §11.13): the generated content, or the first fenced JSON block
/// in it, held to a JSON Schema with request validation's subset and field paths, so "price must
/// be > 0" reads the same whether a client or a model broke it. Built once per config.
struct OutputCheck: Sendable {
    let validator: RequestValidator
    let extract: StreamSaveConfig.OutputValidation.Extract

    init(_ config: StreamSaveConfig.OutputValidation) {
        validator = RequestValidator(ValidateConfig(schema: config.schema))
        extract = config.extract
    }

    /// Nil when the content may be saved; else why not, one entry per failing field.
    func failures(_ content: String) -> [ValidationDetail]? {
        let checked: Substring
        switch extract {
        case .whole: checked = Substring(content)
        case .fencedJSON:
            guard let block = FencedJSON.first(content) else {
                return [ValidationDetail(field: "", message: "The output has no fenced JSON block")]
            }
            checked = block
        }
        switch validator.validate(Array(checked.utf8)) {
        case .success: return nil
        case .failure(let failure):
            return failure.notJSON ? [ValidationDetail(field: "", message: "The output must be valid JSON")] : failure.details
        }
    }
}
