"""Suite-wide pytest configuration: marker registration only (the markers of pyproject.toml plus the
corpus' own, so that ``pytest --strict-markers`` accepts them)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: longer end-to-end tests")
    config.addinivalue_line(
        "markers", "corpus(categorie, issue): hostile-input case of tests/corpus (issue: stop, repair-and-note or "
                   "refuse); counted by tests/corpus/test_inventaire.py")
