import CLibXML2

/// `stream_save.sanitize: "html"` (SPEC §11.13): generated HTML cleaned with an allow-list before
/// it is stored, since the app will later show it to other users' browsers.
///
/// Why this is safe:
/// - The input is tokenized by a real HTML parser (libxml2's, with recovery, no network, no
///   default DTD, errors silenced), never by pattern matching.
/// - The output is NOT libxml2's serialization of the cleaned tree. It is written here, only from
///   allow-listed parts: tag names and attribute names are constants from `HTMLAllowList`; every text
///   node and attribute value is escaped here (`&`, `<`, `>`, and `"` in values), always inside
///   double quotes. So whatever a parser quirk made of the input, a browser tokenizing the output sees
///   only allow-listed start and end tags, allow-listed attributes and text: no markup, comment,
///   character reference or raw-text element (script, style, textarea, …) can be smuggled through,
///   and the browser's own tree fix-ups can only move allowed elements around.
/// - URL attributes are checked on the decoded value, as a browser's URL parser sees it
///   (`HTMLAllowList.urlAllowed`), and written as checked.
/// - Every element start is balanced by its end tag, so a fragment cannot leak into the markup
///   that follows it in the app's page.
///
/// libxml2 pointers stay in this file. The tree is walked iteratively (no recursion, so no stack
/// overflow on deep nesting) and freed before returning. libxml2 is initialized once
/// (`xmlInitParser`), after which its parser may be used from any thread.
enum HTMLSanitizer {
    struct Result: Equatable {
        /// The cleaned HTML.
        var html: String
        /// Removed elements (each dropped or unwrapped element, comment, processing instruction or
        /// doctype counts one; what was inside a dropped element is not counted again) and
        /// removed attributes.
        var removed: Int
    }

    private static let initialized: Bool = { xmlInitParser(); return true }()

    private static let options: Int32 = Int32(bitPattern: HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NONET.rawValue
        | HTML_PARSE_NOERROR.rawValue | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_NODEFDTD.rawValue)

    static func sanitize(_ input: String) -> Result {
        guard !input.isEmpty else { return Result(html: "", removed: 0) }
        guard let doc = parse(input) else {
            // Nothing parsed (whitespace only, or too large): stored as text, which cannot run.
            var text = ""
            HTMLAllowList.appendText(input, to: &text)
            return Result(html: text, removed: input.contains("<") ? 1 : 0)
        }
        defer { xmlFreeDoc(doc) }
        return walk(doc.pointee.children)
    }

    /// libxml2's tree of `html` as the content of a body (so leading text is not put in an implied
    /// `<p>`), NUL characters read as U+FFFD as a browser does (libxml2 would stop at them). The
    /// caller frees it. libxml2 halts at nesting deeper than 256 elements: the rest is not kept.
    private static func parse(_ html: String) -> htmlDocPtr? {
        _ = initialized
        var source = "<body>"
        if html.unicodeScalars.contains("\u{0}") {
            source.unicodeScalars.append(contentsOf: html.unicodeScalars.lazy.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 })
        } else {
            source += html
        }
        return source.withUTF8 { bytes -> htmlDocPtr? in
            guard bytes.count <= Int(Int32.max) else { return nil }
            return bytes.withMemoryRebound(to: CChar.self) { htmlReadMemory($0.baseAddress, Int32($0.count), nil, "UTF-8", options) }
        }
    }

    /// Writes the allow-listed parts of the tree from `first` on, depth first, without recursion.
    private static func walk(_ first: xmlNodePtr?) -> Result {
        var out = ""
        var removed = 0
        /// Where to go on when a node's children are done, and the end tag to write then.
        var stack: [(next: xmlNodePtr?, close: String?)] = []
        var current = first
        while true {
            guard let node = current else {
                guard let frame = stack.popLast() else { break }
                if let close = frame.close { out += "</" + close + ">" }
                current = frame.next
                continue
            }
            switch node.pointee.type {
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = node.pointee.content { HTMLAllowList.appendText(String(cString: content), to: &out) }
                current = node.pointee.next
            case XML_ELEMENT_NODE:
                let name = node.pointee.name.map { String(cString: $0).lowercased() } ?? ""
                if let attributes = HTMLAllowList.elements[name] {
                    out += "<" + name
                    removed += writeAttributes(node, element: name, allowed: attributes, to: &out)
                    out += ">"
                    let void = HTMLAllowList.voidElements.contains(name)
                    stack.append((node.pointee.next, void ? nil : name))
                    current = node.pointee.children
                } else if HTMLAllowList.droppedWithContent.contains(name) {
                    removed += 1
                    current = node.pointee.next
                } else {
                    if !HTMLAllowList.structural.contains(name) { removed += 1 }   // unwrapped: its text stays
                    stack.append((node.pointee.next, nil))
                    current = node.pointee.children
                }
            default:   // comments, processing instructions, doctypes, entity declarations
                removed += 1
                current = node.pointee.next
            }
        }
        return Result(html: out, removed: removed)
    }

    /// Writes the element's allowed attributes (each name once, URLs checked); returns how many were dropped.
    private static func writeAttributes(_ node: xmlNodePtr, element: String, allowed: Set<String>, to out: inout String) -> Int {
        var dropped = 0
        var written: Set<String> = []
        var attribute = node.pointee.properties
        while let attr = attribute {
            attribute = attr.pointee.next
            let name = attr.pointee.name.map { String(cString: $0).lowercased() } ?? ""
            guard HTMLAllowList.globalAttributes.contains(name) || allowed.contains(name), !written.contains(name) else {
                dropped += 1
                continue
            }
            var value = ""
            var child = attr.pointee.children
            while let text = child {
                if let content = text.pointee.content { value += String(cString: content) }
                child = text.pointee.next
            }
            if HTMLAllowList.urlAttributes.contains(name) {
                guard HTMLAllowList.urlAllowed(value, imageSource: element == "img" && name == "src") else {
                    dropped += 1
                    continue
                }
                value = HTMLAllowList.cleanURL(value)
            }
            written.insert(name)
            out += " " + name + "=\""
            HTMLAllowList.appendAttribute(value, to: &out)
            out += "\""
        }
        return dropped
    }
}

extension HTMLSanitizer {
    /// Every element libxml2 finds in `html`, in document order, with its attributes (values
    /// decoded); comments and other non-text nodes as `#comment` etc. For tests and fuzzing: the
    /// XSS corpus test and the fuzz target check the DOM of the sanitizer's output, not its text.
    static func inventory(_ html: String) -> [(name: String, attributes: [(name: String, value: String)])] {
        guard !html.isEmpty else { return [] }
        guard let doc = parse(html) else { return [] }
        defer { xmlFreeDoc(doc) }
        var found: [(name: String, attributes: [(name: String, value: String)])] = []
        var stack: [xmlNodePtr] = []
        var current = doc.pointee.children
        while true {
            guard let node = current else {
                guard let parent = stack.popLast() else { break }
                current = parent.pointee.next
                continue
            }
            switch node.pointee.type {
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE: current = node.pointee.next
            case XML_ELEMENT_NODE:
                var attributes: [(name: String, value: String)] = []
                var attribute = node.pointee.properties
                while let attr = attribute {
                    var value = ""
                    var child = attr.pointee.children
                    while let text = child { if let c = text.pointee.content { value += String(cString: c) }; child = text.pointee.next }
                    attributes.append((attr.pointee.name.map { String(cString: $0).lowercased() } ?? "", value))
                    attribute = attr.pointee.next
                }
                found.append((node.pointee.name.map { String(cString: $0).lowercased() } ?? "", attributes))
                stack.append(node)
                current = node.pointee.children
            default:
                found.append(("#node\(node.pointee.type.rawValue)", []))
                current = node.pointee.next
            }
        }
        return found
    }
}
