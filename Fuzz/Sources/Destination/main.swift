import FuzzDriver

// libFuzzer over the destination target (Sources/FuzzEntries).
runLibFuzzer(.destination)
