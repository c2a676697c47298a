import ArgumentParser
import Foundation
import Logging
import Verification
import VerificationServer

/// `verigate api-key`: the API keys of the store, without the rest of the core (`APIKeys`).
/// `verigate api-key --name N` is `verigate api-key create --name N`.
struct APIKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key", abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self], defaultSubcommand: Create.self)

    /// Opens the store of `options`, runs `body` on its keys and closes the store, also when `body` throws.
    static func withKeys<R>(_ options: StoreOptions, _ body: (APIKeys) async throws -> R) async throws -> R {
        let store = try await options.openStore(logger: Logger(label: "verigate"))
        do {
            let result = try await body(APIKeys(store: store))
            try await store.shutdown()
            return result
        } catch {
            try? await store.shutdown()
            throw error
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key and print it once (only its SHA-256 is stored).")

        @OptionGroup var storeOptions: StoreOptions

        @Option(help: "A name for the key (who uses it), 1 to 100 characters.")
        var name: String = "integrator"

        func run() async throws {
            let key = try await APIKey.withKeys(storeOptions) { try await $0.create(name: name).key }
            print(key)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the API keys: id, name, created, revoked (never a key).")

        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let records = try await APIKey.withKeys(storeOptions) { try await $0.list() }
            print(Self.table(records))
        }

        /// One line per key under a header, columns padded; instants in ISO 8601 UTC.
        static func table(_ records: [APIKeyRecord]) -> String {
            let iso = ISO8601DateFormatter()
            let rows = [["ID", "NAME", "CREATED", "REVOKED"]] + records.map { record in
                [record.id, record.name, iso.string(from: record.createdAt), record.revokedAt.map(iso.string(from:)) ?? "-"]
            }
            let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
            return rows.map { row in
                row.enumerated().map { column, text in
                    column == 3 ? text : text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
            }.joined(separator: "\n")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API key by its id, or by its name when one valid key has it.",
            discussion: "Every node refuses the key (401) within \(Int(APIKeys.cacheTTL)) seconds. The key stays listed, as revoked.")

        @OptionGroup var storeOptions: StoreOptions

        @Argument(help: "The key's id (AK…, see verigate api-key list) or name.")
        var idOrName: String

        func run() async throws {
            let record = try await APIKey.withKeys(storeOptions) { try await $0.revoke(idOrName) }
            print("revoked \(record.id) (\(record.name))")
        }
    }
}
