import XCTest

/// Each body throws an error of one line that mentions its text; the first that does not
/// throw ends the test.
func assertEachThrowsOneLine(_ cases: [(body: () throws -> Any, mentions: String)],
                             file: StaticString = #filePath, line: UInt = #line) throws {
    for (body, mentions) in cases {
        var message: String?
        do { _ = try body() } catch { message = "\(error)" }
        let text = try XCTUnwrap(message, "expected an error mentioning \(mentions)", file: file, line: line)
        XCTAssertTrue(text.contains(mentions), text, file: file, line: line)
        XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
    }
}
