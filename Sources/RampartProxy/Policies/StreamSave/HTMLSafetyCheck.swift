/// An oracle for the sanitizer's output, independent of its allow-list tables: the XSS corpus test
/// and the fuzz target parse the output again (`HTMLSanitizer.inventory`) and ask what here could
/// run script. Empty means nothing.
enum HTMLSafetyCheck {
    static let executableElements: Set<String> = [
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "template", "svg", "math",
        "base", "link", "meta", "noscript", "textarea", "input", "button", "select", "xmp", "plaintext", "noembed", "noframes",
    ]
    static let urlAttributes: Set<String> = ["href", "src", "cite", "action", "formaction", "background", "poster", "data",
                                             "xlink:href", "srcset", "lowsrc", "dynsrc", "codebase", "longdesc", "usemap"]

    static func violations(_ html: String) -> [String] {
        var found: [String] = []
        for element in HTMLSanitizer.inventory(html) {
            if element.name.hasPrefix("#") { found.append("a \(element.name) node") }
            if executableElements.contains(element.name) { found.append("<\(element.name)>") }
            for attribute in element.attributes {
                if attribute.name.hasPrefix("on") { found.append("\(element.name) \(attribute.name)=") }
                if ["style", "srcdoc", "xmlns", "is"].contains(attribute.name) { found.append("\(element.name) \(attribute.name)=") }
                guard urlAttributes.contains(attribute.name) else { continue }
                // Stricter than a browser: every control character and space removed, anywhere.
                let url = String(String.UnicodeScalarView(attribute.value.unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F })).lowercased()
                if url.hasPrefix("javascript:") || url.hasPrefix("vbscript:") || url.hasPrefix("livescript:") {
                    found.append("\(element.name) \(attribute.name)=\(attribute.value)")
                }
                if url.hasPrefix("data:") {
                    let image = element.name == "img" && attribute.name == "src"
                        && ["data:image/png", "data:image/gif", "data:image/jpeg", "data:image/webp"].contains { url.hasPrefix($0 + ";") || url.hasPrefix($0 + ",") }
                    if !image { found.append("\(element.name) \(attribute.name)=\(attribute.value)") }
                }
            }
        }
        return found
    }
}
