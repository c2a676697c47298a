import Foundation
import Logging
@testable import VerificationServer

/// Runs `body` with a `SQLiteDatabasePool` on a new file (two readers, the given checkpoint
/// threshold) in a directory of its own, and the file's path; closes the pool and removes the
/// directory afterwards, whether `body` threw or not.
func withTemporarySQLitePool(
    checkpointThreshold: Int = 1_000, _ body: (SQLiteDatabasePool, _ path: String) async throws -> Void
) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-pool-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var logger = Logger(label: "test")
    logger.logLevel = .error
    let path = directory.appendingPathComponent("t.db").path
    let pool = try SQLiteDatabasePool(
        path: path, readers: 2, busyTimeoutMilliseconds: 1_000, checkpointThreshold: checkpointThreshold, logger: logger
    )
    do {
        try await body(pool, path)
    } catch {
        try? pool.close()
        throw error
    }
    try pool.close()
}
