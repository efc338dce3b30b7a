/// What `stream_save.sanitize: "html"` keeps (SPEC §11.13): formatting elements, links and images,
/// each with the few attributes it needs; and the checks and escaping its output is built with.
/// Pure Swift, no parser: `HTMLSanitizer` walks libxml2's tree and asks these tables.
enum HTMLAllowList {
    /// Kept elements and their own attributes (on top of `globalAttributes`).
    static let elements: [String: Set<String>] = {
        var all: [String: Set<String>] = [
            "a": ["href"], "img": ["src", "alt", "width", "height"],
            "ol": ["start", "type", "reversed"], "li": ["value"],
            "blockquote": ["cite"], "q": ["cite"], "del": ["cite", "datetime"], "ins": ["cite", "datetime"],
            "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan", "scope"], "time": ["datetime"],
        ]
        for name in ["p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "dl", "dt", "dd",
                     "strong", "em", "b", "i", "u", "s", "mark", "small", "sub", "sup", "code", "pre", "kbd", "samp", "var",
                     "cite", "abbr", "dfn", "span", "div", "table", "thead", "tbody", "tfoot", "tr", "caption",
                     "figure", "figcaption", "section", "article", "header", "footer", "aside", "details", "summary"] {
            all[name] = []
        }
        return all
    }()
    /// Allowed on every kept element.
    static let globalAttributes: Set<String> = ["title", "lang", "dir"]
    /// Attributes whose value is a URL: kept only when `urlAllowed` says so.
    static let urlAttributes: Set<String> = ["href", "src", "cite"]
    /// Kept elements without an end tag.
    static let voidElements: Set<String> = ["br", "hr", "img"]
    /// Removed with everything inside them: scripts and styles, other documents and plugins, forms
    /// and their controls, templates, foreign content (SVG, MathML), raw-text elements, and what
    /// belongs in a document's head. Any other element that is not kept is unwrapped: its text stays.
    static let droppedWithContent: Set<String> = [
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "param", "form", "template",
        "svg", "math", "noscript", "noembed", "noframes", "xmp", "plaintext", "textarea", "select", "option", "optgroup",
        "button", "input", "datalist", "output", "keygen", "isindex", "base", "link", "meta", "audio", "video", "source",
        "track", "canvas", "map", "area", "portal", "listing",
    ]
    /// Document structure libxml2 adds around a fragment: walked through, neither kept nor counted.
    static let structural: Set<String> = ["html", "head", "body"]

    /// Whether a URL attribute may stay: http, https and mailto URLs, and relative ones; on an
    /// image's `src` also `data:image/(png|gif|jpeg|webp)` followed by `;` or `,`. `value` is
    /// already entity-decoded; the check sees it as a browser's URL parser does (tab and newline
    /// removed anywhere, C0 controls and spaces trimmed at the ends), and any colon before the
    /// first `/`, `?` or `#` must end one of the allowed schemes (stricter than a browser, which
    /// would take some of those as relative paths).
    static func urlAllowed(_ value: String, imageSource: Bool) -> Bool {
        let url = cleanURL(value)
        let stop = url.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        guard let colon = url[..<stop].firstIndex(of: ":") else { return true }   // relative
        let scheme = url[..<colon].lowercased()
        if scheme == "http" || scheme == "https" || scheme == "mailto" { return true }
        guard imageSource, scheme == "data" else { return false }
        // A data: URL names its media type, then ";" (parameters, base64) or "," (the data).
        let rest = url[url.index(after: colon)...]
        let media = rest.prefix { $0 != ";" && $0 != "," }
        guard media.endIndex < rest.endIndex else { return false }
        return ["image/png", "image/gif", "image/jpeg", "image/webp"].contains(media.lowercased())
    }

    /// A URL attribute as it is written out: tabs and newlines removed, ends trimmed of C0 controls and spaces.
    static func cleanURL(_ value: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: value.unicodeScalars.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" })
        let trim: (Unicode.Scalar) -> Bool = { $0.value <= 0x20 }
        var view = Substring(String(scalars)).unicodeScalars
        while let first = view.first, trim(first) { view.removeFirst() }
        while let last = view.last, trim(last) { view.removeLast() }
        return String(view)
    }

    /// Text as element content: `&`, `<`, `>` (and no-break space) as character references, so no
    /// markup and no reference can start inside it.
    static func appendText(_ text: String, to out: inout String) {
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\u{A0}": out += "&nbsp;"
            default: out.unicodeScalars.append(ch)
            }
        }
    }

    /// An attribute value inside double quotes: also `"` escaped, so the value cannot end early.
    static func appendAttribute(_ value: String, to out: inout String) {
        for ch in value.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\u{A0}": out += "&nbsp;"
            default: out.unicodeScalars.append(ch)
            }
        }
    }

    /// `sanitize: "text"`: the whole content HTML-escaped, so a page shows it as typed. Returns the
    /// escaped text and how many characters were escaped.
    static func escapeAll(_ text: String) -> (text: String, escaped: Int) {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var escaped = 0
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"; escaped += 1
            case "<": out += "&lt;"; escaped += 1
            case ">": out += "&gt;"; escaped += 1
            case "\"": out += "&quot;"; escaped += 1
            case "'": out += "&#39;"; escaped += 1
            default: out.unicodeScalars.append(ch)
            }
        }
        return (out, escaped)
    }
}
