import FuzzDriver

// libFuzzer over the rfb-client target (Sources/FuzzEntries).
runLibFuzzer(.rfbClient)
