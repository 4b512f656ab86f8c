"""Fleet-scale benchmark of the exporter against the simulator, with a naive baseline beside it."""
