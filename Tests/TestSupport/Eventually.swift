/// Waits (polling every 20 ms, at most `limit`) until `condition` holds; returns whether it did.
/// For state that announces no change (a process's output, a port, a row); where an event can be
/// awaited, await it instead.
public func eventuallyTrue(within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
