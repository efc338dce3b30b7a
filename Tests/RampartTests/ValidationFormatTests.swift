import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

@Suite struct ValidationFormatTests {
    @Test(arguments: [
        ("123e4567-e89b-12d3-a456-426614174000", true),
        ("123E4567-E89B-12D3-A456-426614174000", true),
        ("00000000-0000-0000-0000-000000000000", true),
        ("123e4567e89b12d3a456426614174000", false),            // no hyphens
        ("123e4567-e89b-12d3-a456-42661417400", false),          // one digit short
        ("123e4567-e89b-12d3-a456-42661417400g", false),
        ("{123e4567-e89b-12d3-a456-426614174000}", false),
        ("", false),
    ])
    func uuid(value: String, valid: Bool) {
        #expect(StringFormat.uuid.accepts(value) == valid, "\(value)")
    }

    @Test(arguments: [
        ("2025-01-31T12:00:00Z", true),
        ("2025-01-31t12:00:00z", true),
        ("2025-01-31T12:00:00.123456+05:30", true),
        ("2024-02-29T00:00:00-08:00", true),                    // leap year
        ("2000-02-29T00:00:00Z", true),
        ("1998-12-31T23:59:60Z", true),                         // leap second
        ("1998-12-31T15:59:60.5-08:00", true),                  // the same leap second with an offset
        ("1998-12-31T23:58:60Z", false),
        ("2023-02-29T00:00:00Z", false),
        ("1900-02-29T00:00:00Z", false),
        ("2025-04-31T00:00:00Z", false),
        ("2025-13-01T00:00:00Z", false),
        ("2025-01-01T24:00:00Z", false),
        ("2025-01-01T12:00:00", false),                         // no offset
        ("2025-01-01 12:00:00Z", false),
        ("2025-01-01", false),
        ("2025-01-01T12:00:00.Z", false),
        ("2025-01-01T12:00:00+0530", false),
        ("2025-01-01T12:00:00+24:00", false),
        ("2025-01-01T12:00:00Z ", false),
        ("２０２５-01-01T12:00:00Z", false),                      // full-width digits
    ])
    func dateTime(value: String, valid: Bool) {
        #expect(StringFormat.dateTime.accepts(value) == valid, "\(value)")
    }

    @Test(arguments: [
        ("ann@example.com", true),
        ("first.last+tag@mail.example.co.uk", true),
        ("ünïcödé@bücher.de", true),
        ("ann@localhost", false),                               // no dot in the domain
        ("@example.com", false),
        ("ann@@example.com", false),
        ("ann@ex@ample.com", false),
        ("ann @example.com", false),
        ("ann@example.com\n", false),
        ("ann@.com", false),
        ("ann@example.", false),
        ("ann@example..com", false),
        ("annexample.com", false),
        ("", false),
    ])
    func email(value: String, valid: Bool) {
        #expect(StringFormat.email.accepts(value) == valid, "\(value)")
    }

    @Test(arguments: [
        ("uuid", #""nope""#, "Must be a valid UUID"),
        ("date-time", #""yesterday""#, "Must be a valid date-time"),
        ("email", #""ann""#, "Must be a valid email"),
        ("email", "42", nil),                                   // formats only constrain strings
    ] as [(String, String, String?)])
    func messages(format: String, value: String, message: String?) throws {
        let schema = #"{"format": "\#(format)"}"#
        #expect(try ValidationFixture.rootMessages(schema, value) == (message.map { [$0] } ?? []))
    }
}
