import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// stream_save and truncate (SPEC §8): formats, JSON pointers and save templates.
extension ConfigDecoder {
    /// `upstreams` are the config's, for `save.upstream` and `verify.upstream` (SPEC §11.5).
    func decodeStreamSave(_ field: Field, pathParams: [String], routeFormat: AIFormat?, upstreams: [String: UpstreamConfig]) -> StreamSaveConfig? {
        guard let r = field.object(keys: ["format", "mode", "save", "verify", "validate", "sanitize", "echo", "wait", "continue_on_disconnect"]) else { return nil }
        let format = r.has("format") || routeFormat == nil ? r.required("format").flatMap(decodeSaveFormat)
                                                           : routeFormat == .anthropic ? .anthropic : .openai
        var mode = StreamSaveConfig.Mode.save
        if let v = r["mode"]?.oneOf(StreamSaveConfig.Mode.self) { mode = v }
        let save = r.required("save").flatMap { decodeSave($0, pathParams: pathParams, upstreams: upstreams) }
        var verify: StreamSaveConfig.Verify? = nil
        if let f = r["verify"], let o = f.object(keys: ["url", "pointer", "upstream"]) {
            let url = o.required("url").flatMap { relativeURLTemplate($0, pathParams: pathParams) }
            let pointer = o.required("pointer").flatMap(jsonPointer)
            let upstream = o["upstream"].flatMap { namedUpstream($0, upstreams: upstreams)?.name }
            if let url, let pointer, !o.has("upstream") || upstream != nil {
                verify = StreamSaveConfig.Verify(url: url, pointer: pointer, upstream: upstream)
            }
        } else if mode == .verify, !r.has("verify") {
            diag.error(ConfigPath.key(field.path, "verify"), "required when mode is \"verify\"")
        }
        let echo = r["echo"]?.members?.compactMap { key, f -> (key: String, template: String)? in
            guard let t = f.string, checkTemplate(t, at: f, pathParams: pathParams) else { return nil }
            return (key, t)
        }
        var validate: StreamSaveConfig.OutputValidation?
        if let f = r["validate"], let o = f.object(keys: ["schema", "extract"]), let s = o.required("schema") {
            checkSchema(s)
            validate = StreamSaveConfig.OutputValidation(schema: s.value)
            if let v = o["extract"]?.oneOf(StreamSaveConfig.OutputValidation.Extract.self) { validate?.extract = v }
        }
        let sanitize = r["sanitize"]?.oneOf(StreamSaveConfig.Sanitize.self)
        let wait = r["wait"]?.duration(allowZero: true)
        let continueOnDisconnect = r["continue_on_disconnect"]?.bool
        guard let format, let save else { return nil }
        var config = StreamSaveConfig(format: format, mode: mode, save: save, verify: verify)
        config.validate = validate
        if let sanitize { config.sanitize = sanitize }
        if let echo { config.echo = echo }
        if let wait { config.wait = wait }
        if let continueOnDisconnect { config.continueOnDisconnect = continueOnDisconnect }
        return config
    }

    private func decodeSaveFormat(_ field: Field) -> StreamSaveConfig.Format? {
        if case .string = field.value {
            switch field.oneOf(["anthropic", "openai", "text"]) {
            case "anthropic"?: return .anthropic
            case "openai"?: return .openai
            case "text"?: return .text
            default: return nil
            }
        }
        guard case .object = field.value else {
            field.fail("expected \"anthropic\", \"openai\", \"text\" or {\"event\": ..., \"pointer\": ...}, got \(field.value.typeName)")
            return nil
        }
        guard let o = field.object(keys: ["event", "pointer"]) else { return nil }
        let event = o["event"]?.nonEmptyString
        guard let pointer = o.required("pointer").flatMap(jsonPointer) else { return nil }
        return .custom(event: event, pointer: pointer)
    }

    private func decodeSave(_ field: Field, pathParams: [String], upstreams: [String: UpstreamConfig]) -> StreamSaveConfig.Save? {
        guard let o = field.object(keys: ["method", "url", "body", "attempts", "backoff", "upstream"]) else { return nil }
        let url = o.required("url").flatMap { relativeURLTemplate($0, pathParams: pathParams) }
        var method: String? = nil
        if let f = o["method"], let m = f.nonEmptyString {
            if isHTTPToken(m) { method = m.uppercased() } else { f.fail("\(f.value.jsonText()) is not an HTTP method") }
        }
        if let f = o["body"] { checkTemplates(in: f, pathParams: pathParams) }
        let attempts = o["attempts"]?.int(min: 1, max: 20)
        let backoff = o["backoff"]?.duration()
        let upstream = o["upstream"].flatMap { namedUpstream($0, upstreams: upstreams)?.name }
        guard let url, !o.has("upstream") || upstream != nil else { return nil }
        var save = StreamSaveConfig.Save(url: url)
        save.body = o["body"]?.value
        if let method { save.method = method }
        if let attempts { save.attempts = attempts }
        if let backoff { save.backoff = backoff }
        save.upstream = upstream
        return save
    }

    func decodeTruncate(_ field: Field, routeFormat: AIFormat?) -> TruncateConfig? {
        guard let r = field.object(keys: ["format", "budget_tokens", "chars_per_token", "image_tokens"]) else { return nil }
        var format: TruncateConfig.Format? = routeFormat.map { $0 == .anthropic ? .anthropic : .openai }
        if let f = routeFormat == nil ? r.required("format") : r["format"] {
            switch f.value {
            case .string:
                switch f.oneOf(["anthropic", "openai"]) {
                case "anthropic"?: format = .anthropic
                case "openai"?: format = .openai
                default: break
                }
            case .object:
                if let o = f.object(keys: ["pointer"]), let p = o.required("pointer").flatMap(jsonPointer) { format = .pointer(p) }
            default:
                f.fail("expected \"anthropic\", \"openai\" or {\"pointer\": \"/path/to/messages\"}, got \(f.value.typeName)")
            }
        }
        let budget = r.required("budget_tokens")?.int(min: 1)
        var charsPerToken: Double? = nil
        if let f = r["chars_per_token"], let v = f.number(min: 0) {
            if v > 0 { charsPerToken = v } else { f.fail("must be greater than 0") }
        }
        let imageTokens = r["image_tokens"]?.int(min: 0)
        guard let format, let budget else { return nil }
        var config = TruncateConfig(format: format, budgetTokens: budget)
        if let charsPerToken { config.charsPerToken = charsPerToken }
        if let imageTokens { config.imageTokens = imageTokens }
        return config
    }

    // MARK: - Pointers and templates

    /// RFC 6901 pointer into a JSON document; must start with "/" and use only ~0 / ~1 escapes.
    func jsonPointer(_ field: Field) -> String? {
        guard let s = field.string else { return nil }
        guard s.hasPrefix("/") else { field.fail("\(field.value.jsonText()) is not a JSON pointer; it must start with \"/\""); return nil }
        let bytes = Array(s.utf8)
        for (i, c) in bytes.enumerated() where c == UInt8(ascii: "~") {
            guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "0") || bytes[i + 1] == UInt8(ascii: "1") else {
                field.fail("\(field.value.jsonText()) is not a JSON pointer; \"~\" must be written ~0 (and \"/\" in a key ~1)")
                return nil
            }
        }
        return s
    }

    /// A save/verify URL: a path on the save's upstream (the route's, or the one it names).
    private func relativeURLTemplate(_ field: Field, pathParams: [String]) -> String? {
        guard let s = field.nonEmptyString else { return nil }
        guard s.hasPrefix("/") else { field.fail("must be a path on the upstream starting with \"/\""); return nil }
        return checkTemplate(s, at: field, pathParams: pathParams) ? s : nil
    }

    /// Walks a JSON body template and checks every string in it.
    private func checkTemplates(in field: Field, pathParams: [String]) {
        switch field.value {
        case .string(let s): _ = checkTemplate(s, at: field, pathParams: pathParams)
        case .array: field.elements?.forEach { checkTemplates(in: $0, pathParams: pathParams) }
        case .object: field.members?.forEach { checkTemplates(in: $0.field, pathParams: pathParams) }
        default: break
        }
    }

    /// Placeholders: {content} {user} {request_id} {body.a.b} {query.name} {header.Name} {pathParam}.
    /// Checked now so a typo fails `rampart check` instead of the first save after a long generation.
    @discardableResult
    func checkTemplate(_ s: String, at field: Field, pathParams: [String]) -> Bool {
        var rest = Substring(s)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            if rest[open] == "}" { field.fail("unmatched } in template \(field.value.jsonText())"); return false }
            guard let close = rest[open...].firstIndex(of: "}") else {
                field.fail("unclosed { in template \(field.value.jsonText())"); return false
            }
            let name = rest[rest.index(after: open)..<close]
            if !isPlaceholder(name, pathParams: pathParams) {
                var hint = "use {content}, {user}, {request_id}, {body.field}, {query.name}, {header.Name}"
                if !pathParams.isEmpty { hint += " or a path parameter (" + pathParams.map { "{\($0)}" }.joined(separator: ", ") + ")" }
                field.fail("unknown placeholder {\(name)}; \(hint)")
                return false
            }
            rest = rest[rest.index(after: close)...]
        }
        return true
    }

    private func isPlaceholder(_ name: Substring, pathParams: [String]) -> Bool {
        if name == "content" || name == "user" || name == "request_id" { return true }
        if pathParams.contains(String(name)) { return true }
        for prefix in ["body.", "query.", "header."] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            if prefix == "header." { return isHTTPToken(String(rest)) }
            return !rest.isEmpty && rest.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && !$0.contains("{") }
        }
        return false
    }
}
