"""Fixtures shared by every test folder live in tests/fixtures/ and are loaded here."""

pytest_plugins = [
    "tests.fixtures.testdata",
    "tests.fixtures.cluster",
    "tests.fixtures.operator",
    "tests.fixtures.platform",
]
