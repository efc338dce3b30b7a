import RampartHTTP
import RampartLoop
import RampartTransport
import Foundation

/// Fills `stream_save` templates: `{content}`, `{param}` (path template), `{body.field}`,
/// `{query.name}`, `{header.Name}`, `{user}`, `{request_id}`. Values are percent-encoded in
/// URLs; in the JSON body they become string values (the serializer escapes them), and a string
/// that is exactly one placeholder takes the value whole.
package struct SaveTemplate {
    package var content: String
    package var params: [(name: String, value: String)]
    package var requestBody: JSONValue?
    package var query: String?
    package var headers: (String) -> String?
    package var user: String?
    package var requestID: String

    package func value(_ name: String) -> String? {
        switch name {
        case "content": return content
        case "user": return user
        case "request_id": return requestID
        default:
            if name.hasPrefix("body.") {
                guard let v = requestBody?.at(pointer: "/" + name.dropFirst(5).replacingOccurrences(of: ".", with: "/")) else { return nil }
                switch v {
                case .string(let s): return s
                case .number(let n): return JSONText.number(n)
                case .bool(let b): return b ? "true" : "false"
                default: return v.jsonText()
                }
            }
            if name.hasPrefix("query.") { return QueryString.parse(query ?? "")[String(name.dropFirst(6))] }
            if name.hasPrefix("header.") { return headers(String(name.dropFirst(7))) }
            return params.first { $0.name == name }?.value
        }
    }

    /// Replaces every `{name}` in `text`; `encode` transforms each value (percent-encoding in URLs).
    package func render(_ text: String, encode: (String) -> String = { $0 }) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            out += encode(value(name) ?? "")
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    package func renderURL(_ url: String) -> String {
        render(url) { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#&="))) ?? "" }
    }

    package func renderBody(_ template: JSONValue) -> JSONValue {
        switch template {
        case .string(let s):
            return .string(render(s))
        case .array(let items): return .array(items.map(renderBody))
        case .object(let members): return .object(members.map { ($0.key, renderBody($0.value)) })
        default: return template
        }
    }
    package init(content: String, params: [(name: String, value: String)], requestBody: JSONValue? = nil, query: String? = nil, headers: @escaping (String) -> String?, user: String? = nil, requestID: String) {
        self.content = content; self.params = params; self.requestBody = requestBody; self.query = query; self.headers = headers; self.user = user; self.requestID = requestID
    }
}
