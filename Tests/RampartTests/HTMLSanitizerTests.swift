import Testing
@testable import RampartProxy
@testable import Rampart

/// `stream_save.sanitize` (SPEC §11.13): what a save stores is cleaned with an allow-list (html) or
/// escaped (text); formatted HTML passes through.
@Suite struct HTMLSanitizerTests {
    static func clean(_ html: String) -> String { HTMLSanitizer.sanitize(html).html }

    /// "Unchanged" means byte-identical for HTML already in the form the sanitizer writes: lower-case
    /// allow-listed tags and attributes, attribute values in double quotes, `&`, `<`, `>` (and `"` in
    /// values) escaped, balanced end tags, void elements without a slash, and no whitespace-only text
    /// where HTML ignores it (between table rows). Other spellings of the same HTML come out in that form.
    static let formatted = [
        "<h1>Day 1: Lisbon</h1><h2>Morning</h2><h3>a</h3><h4>b</h4><h5>c</h5><h6>d</h6>",
        "<p>Walk up to the <strong>castle</strong>, then <em>coffee</em> in <b>Alfama</b> and <i>fado</i> at <u>night</u>.</p>",
        "<ul>\n<li>Tram 28</li>\n<li>Miradouro</li>\n</ul>\n<ol><li>First</li><li>Second</li></ol>",
        "<p>Book at <a href=\"https://example.com/tickets?day=1&amp;lang=en\">the site</a> or <a href=\"/local/page#top\">here</a>, mail <a href=\"mailto:desk@example.com\">us</a>.</p>",
        "<blockquote><p>Saudade is a longing.</p></blockquote>",
        "<pre><code>let x = 1 &lt; 2 &amp;&amp; y &gt; 0\n  indented</code></pre><p>Inline <code>code()</code>.</p>",
        "<table><thead><tr><th>Time</th><th>Place</th></tr></thead><tbody><tr><td>9:00</td><td>Bel&eacute;m</td></tr></tbody></table>",
        "<p>Line one<br>line two</p><hr><p><img src=\"https://images.example.com/tram.jpg\" alt=\"Yellow tram\"></p>",
        "<p>Quotes \"like this\" and 'this' stay; so do unicode ✈️ and émigré.</p>",
    ]

    @Test func ordinaryFormattedHTMLPassesThroughUnchanged() {
        for html in Self.formatted {
            let expected = html.replacingOccurrences(of: "&eacute;", with: "é")
            let result = HTMLSanitizer.sanitize(html)
            #expect(result.html == expected, "\(html)")
            #expect(result.removed == 0, "\(html)")
        }
        #expect(Self.clean("Just text, no markup.") == "Just text, no markup.")
        #expect(Self.clean("<P CLASS=x>Hi<BR/>there") == "<p>Hi<br>there</p>", "other spellings are normalized")
    }

    @Test func dangerousElementsGoWithTheirContent() {
        let cases: [(String, String, Int)] = [
            ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>", 1),
            ("<style>body{display:none}</style><p>x</p>", "<p>x</p>", 1),
            ("<iframe src=\"https://evil.example\">text</iframe>ok", "ok", 1),
            ("<object data=\"x.swf\"><param name=a value=b></object><embed src=\"x.swf\">", "", 2),
            ("<form action=\"/steal\"><input name=pw><button>Go</button></form>after", "after", 1),
            ("<template><img src=x onerror=alert(1)></template><svg onload=alert(1)><circle/></svg><math><mi>x</mi></math>", "", 3),
            ("<!-- a comment --><p>kept</p>", "<p>kept</p>", 1),
        ]
        for (input, expected, removed) in cases {
            let result = HTMLSanitizer.sanitize(input)
            #expect(result.html == expected, "\(input)")
            #expect(result.removed == removed, "\(input): \(result)")
        }
    }

    @Test func unknownWrappersKeepTheirText() {
        let result = HTMLSanitizer.sanitize("<custom-card><font color=red>Hello</font> <marquee>world</marquee></custom-card>")
        #expect(result.html == "Hello world")
        #expect(result.removed == 3)
    }

    @Test func eventHandlersAndStylesAreRemovedAndCounted() {
        let result = HTMLSanitizer.sanitize("<p onclick=\"alert(1)\" style=\"color:red\" class=\"x\" title=\"t\">a</p><img src=\"https://x.example/a.png\" onerror=\"alert(1)\" alt=\"a\">")
        #expect(result.html == "<p title=\"t\">a</p><img src=\"https://x.example/a.png\" alt=\"a\">")
        #expect(result.removed == 4)
    }

    @Test func urlsAreCheckedAsABrowserReadsThem() {
        let refused = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " \u{1}javascript:alert(1)", "java\tscript:alert(1)",
                       "jav&#x09;ascript:alert(1)", "&#106;avascript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<script>alert(1)</script>",
                       "data:image/svg+xml,<svg onload=alert(1)>", "java\u{0}script:alert(1)", "\u{0}javascript:alert(1)", "feed:javascript:alert(1)"]
        for url in refused {
            let html = "<a href=\"\(url)\">x</a>"
            let result = HTMLSanitizer.sanitize(html)
            #expect(result.html == "<a>x</a>" && result.removed == 1, "\(url): \(result)")
        }
        #expect(Self.clean("<img src=\"data:image/png;base64,iVBORw0KGgo=\">") == "<img src=\"data:image/png;base64,iVBORw0KGgo=\">")
        #expect(Self.clean("<a href=\"data:image/png;base64,iVBORw0KGgo=\">x</a>") == "<a>x</a>", "data: only on images")
        #expect(Self.clean("<a href=\" https://example.com/\n\">x</a>") == "<a href=\"https://example.com/\">x</a>", "written as checked")
        #expect(Self.clean("<a href=\"javascript&colon;alert(1)\">x</a>") == "<a href=\"javascript&amp;colon;alert(1)\">x</a>",
                "an entity libxml2 does not know stays text, and its & is escaped, so no browser decodes it into a colon")
        #expect(Self.clean("<blockquote cite=\"javascript:alert(1)\">q</blockquote>") == "<blockquote>q</blockquote>")
    }

    @Test func textAndAttributesAreEscaped() {
        #expect(Self.clean("<p title='a\"b<c>'>1 &lt; 2 &amp; &lt;script&gt;</p>") == "<p title=\"a&quot;b&lt;c&gt;\">1 &lt; 2 &amp; &lt;script&gt;</p>")
        #expect(Self.clean("<p>a&nbsp;b</p>") == "<p>a&nbsp;b</p>")
    }

    @Test func outputIsStableAndBalanced() {
        for input in ["<p><b>unclosed <i>nest", "<table><tr><td>1<td>2</table>", "<ul><li>a<li>b</ul>", "<a href=/x><a href=/y>z</a>",
                      "<pre>\nfirst</pre>", "</p>stray</div>"] {
            let once = Self.clean(input)
            #expect(Self.clean(once) == once, "\(input) -> \(once)")
        }
        #expect(Self.clean("<p><b>unclosed <i>nest") == "<p><b>unclosed <i>nest</i></b></p>")
    }

    @Test func deepNestingAndOddInputDoNotCrash() {
        let deep = Self.clean(String(repeating: "<div>", count: 20_000) + "x<script>alert(1)</script>")
        #expect(deep.hasPrefix("<div><div>") && deep.hasSuffix("</div></div>") && !deep.contains("script"),
                "libxml2 stops at 256 levels; what it kept is balanced")
        #expect(Self.clean(String(repeating: "<b>", count: 200) + "x") == String(repeating: "<b>", count: 200) + "x" + String(repeating: "</b>", count: 200))
        #expect(Self.clean("") == "")
        #expect(Self.clean("   ") == "   " || Self.clean("   ").isEmpty)
        #expect(!Self.clean("\u{0}<scr\u{0}ipt>alert(1)</script>").contains("<scr"))
        #expect(!Self.clean("<?xml version=\"1.0\"?><!DOCTYPE html><p>x</p>").contains("<!"))
    }

    @Test func textModeEscapesEverything() {
        let (text, count) = StreamSaveConfig.Sanitize.text.apply("<b>Tom & \"Jerry\"</b> it's")
        #expect(text == "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; it&#39;s")
        #expect(count == 8)
        #expect(StreamSaveConfig.Sanitize.none.apply("<script>").content == "<script>")
        #expect(StreamSaveConfig.Sanitize.none.apply("<script>").sanitized == nil)
        #expect(StreamSaveConfig.Sanitize.html.apply("<p>x<script>y</script></p>") == ("<p>x</p>", 1))
    }

    @Test func theConfigKeyDecodesAndBadValuesFailWithTheirPath() throws {
        let route = #""routes": [{"name": "r", "match": {"path": "/x"}, "format": "anthropic", "stream_save": {"save": {"url": "/s"}, "sanitize": "#
        #expect(try ConfigFixture.load(ConfigFixture.app(route + #""html"}}]"#)).routes[0].streamSave?.sanitize == .html)
        #expect(try ConfigFixture.load(ConfigFixture.app(route + #""text"}}]"#)).routes[0].streamSave?.sanitize == .text)
        let plain = #""routes": [{"name": "r", "match": {"path": "/x"}, "format": "anthropic", "stream_save": {"save": {"url": "/s"}}}]"#
        #expect(try ConfigFixture.load(ConfigFixture.app(plain)).routes[0].streamSave?.sanitize == StreamSaveConfig.Sanitize.none)
        #expect(ConfigFixture.errors(ConfigFixture.app(route + #""markdown"}}]"#))
                == [#"routes[0].stream_save.sanitize: "markdown" is not one of none, html, text"#])
        #expect(ConfigFixture.errors(ConfigFixture.app(route + #"true}}]"#)).first?.hasPrefix("routes[0].stream_save.sanitize: ") == true)
    }
}
