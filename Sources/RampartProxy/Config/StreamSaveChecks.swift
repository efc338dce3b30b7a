import RampartHTTP

extension StreamSaveConfig {
    /// `stream_save.validate` (SPEC §11.13): generated content is held to a JSON Schema (the subset
    /// and error details of request validation) before it is saved, so a model's malformed or
    /// implausible output never reaches the app's database unseen.
    public struct OutputValidation: Sendable {
        /// What is checked: the whole content, or the first fenced JSON block in it (a model that
        /// wraps its JSON in prose and a ```json fence).
        public enum Extract: String, Sendable, CaseIterable { case whole, fencedJSON = "fenced_json" }
        public var schema: JSONValue
        public var extract: Extract = .whole
        package init(schema: JSONValue, extract: Extract = .whole) { self.schema = schema; self.extract = extract }
    }
}

extension StreamSaveConfig {
    /// `stream_save.sanitize` (SPEC §11.13): what is done to generated content before it is stored.
    /// `none` stores it as generated; `html` keeps only allow-listed formatting, links and images
    /// (`HTMLSanitizer`); `text` stores it HTML-escaped, so a page shows the markup as text.
    public enum Sanitize: String, Sendable, CaseIterable { case none, html, text }
}
