"""Cross-app test fixtures: the fake exchange (tests.fake_exchange) for every test under tests/."""

from tests.fake_exchange import fake_exchange  # noqa: F401  (a pytest fixture)
