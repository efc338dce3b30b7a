/// `stream_save.sanitize` applied to the content a save stores (SPEC §11.13). What the client
/// streams is never changed; only what is templated into the save body is.
extension StreamSaveConfig.Sanitize {
    /// The content to store and how much was changed: for `html`, the removed elements and
    /// attributes (`HTMLSanitizer`); for `text`, the characters escaped; for `none`, nil.
    func apply(_ content: String) -> (content: String, sanitized: Int?) {
        switch self {
        case .none: return (content, nil)
        case .html:
            let result = HTMLSanitizer.sanitize(content)
            return (result.html, result.removed)
        case .text:
            let result = HTMLAllowList.escapeAll(content)
            return (result.text, result.escaped)
        }
    }
}

extension StreamSaveConfig.Sanitize {
    /// `apply`, counted in `rampart_save_sanitized_total{route}`. Run once when the stream ends,
    /// before the save body is built, so what is saved, journaled (even as `invalid_output` or
    /// `upstream_incomplete`) and later replayed is the sanitized content; `validate` still checks
    /// what the model produced.
    func stored(_ content: String, route: String, metrics: MetricsShard) -> (String, Int?) {
        let result = apply(content)
        if let changed = result.sanitized, changed > 0 { metrics.saveSanitized(route: route, changed: changed) }
        return result
    }
}
