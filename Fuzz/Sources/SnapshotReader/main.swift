import FuzzDriver

// libFuzzer over the snapshot-reader target (Sources/FuzzEntries).
runLibFuzzer(.snapshotReader)
