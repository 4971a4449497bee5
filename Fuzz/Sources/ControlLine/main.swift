import FuzzDriver

// libFuzzer over the control-line target (Sources/FuzzEntries).
runLibFuzzer(.controlLine)
