"""What the tests and the benchmarks share, without pytest: the repository's root, free
ports, waiting for a condition, HandTracker manifests, the photos' folder, and one
launcher each for the operator and the workload. Fixtures live in tests/fixtures/."""
