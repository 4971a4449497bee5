import FuzzDriver

// libFuzzer over the migration-decoder target (Sources/FuzzEntries).
runLibFuzzer(.migrationDecoder)
