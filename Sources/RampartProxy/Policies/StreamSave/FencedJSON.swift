/// Finds the JSON a model wrapped in prose: `stream_save.validate` with `"extract": "fenced_json"`
/// (SPEC §11.13). Standalone (no other Rampart types), so the fuzz target can compile it alone.
enum FencedJSON {
    /// The body of the first fenced code block (CommonMark: a line of three or more backticks or
    /// tildes, up to the next such line) whose info string is `json`, else the first without an
    /// info string. Nil when there is none; an unclosed block runs to the end of the text.
    static func first(_ text: String) -> Substring? {
        enum Kind { case json, untagged, other }
        var untagged: Substring?
        var open: (fence: Substring, kind: Kind, start: String.Index)?
        var lineStart = text.startIndex
        while lineStart < text.endIndex {
            let lineEnd = text[lineStart...].firstIndex(of: "\n") ?? text.endIndex
            let line = text[lineStart..<lineEnd]
            let indent = line.prefix { $0 == " " }.count
            let trimmed = line.dropFirst(indent).prefix { $0 != "\r" }
            let next = lineEnd < text.endIndex ? text.index(after: lineEnd) : text.endIndex
            if let current = open {
                let closing = trimmed.prefix { $0 == current.fence.first }
                if closing.count >= current.fence.count, trimmed.dropFirst(closing.count).allSatisfy({ $0 == " " }) {
                    let body = text[current.start..<lineStart]
                    if current.kind == .json { return body }
                    if current.kind == .untagged && untagged == nil { untagged = body }
                    open = nil
                }
            } else if indent < 4, let marker = trimmed.first, marker == "`" || marker == "~" {
                let fence = trimmed.prefix { $0 == marker }
                if fence.count >= 3 {
                    let info = trimmed.dropFirst(fence.count).split(separator: " ").first.map { $0.lowercased() }
                    open = (fence, info == nil ? .untagged : info == "json" ? .json : .other, next)
                }
            }
            lineStart = next
        }
        if let current = open, current.kind == .json { return text[current.start...] }
        return untagged
    }
}
