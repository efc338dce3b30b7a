import RampartHTTP
import RampartLoop
import RampartTransport
/// Why a request body was refused by its route's `validate` schema (SPEC §6.4).
///
/// The pipeline turns this into one 400 response with `details` as the per-field list (SPEC §4),
/// so a form can show every problem at once instead of one per round trip. `notJSON` lets it
/// pick the code: the body could not be read at all, versus read but in the wrong shape.
public struct ValidationFailure: Error, Sendable, Equatable {
    public var details: [ValidationDetail]
    /// The body was empty or not JSON; `details` then holds a single root-level entry.
    public var notJSON: Bool

    public init(details: [ValidationDetail], notJSON: Bool = false) {
        self.details = details
        self.notJSON = notJSON
    }

    package static let invalidJSON = ValidationFailure(
        details: [ValidationDetail(field: "", message: "Body must be valid JSON")], notJSON: true)

    /// A one-line message for the error envelope's `message`, naming the field when there is
    /// only one, so a client that ignores `details` still learns what to fix.
    public var summary: String {
        guard details.count == 1, let only = details.first else {
            return "\(details.count) fields are invalid"
        }
        return only.field.isEmpty ? only.message : "\(only.field): \(only.message)"
    }
}

/// One failing field. `field` is a path into the body (`customer.name`, `items[2].qty`,
/// `meta["x.y"]` for keys that are not plain identifiers, `""` for the body itself), so a
/// client can map it back to its own form without guessing.
public struct ValidationDetail: Sendable, Equatable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}
