"""Scraping /metrics in tests: the real view through Django's test client, parsed by prometheus_client's parser."""

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-test-token-0123456789abcdef"


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def samples(text: str):
    for family in text_string_to_metric_families(text):
        yield from family.samples


def value(text: str, name: str, **labels) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when there is none)."""
    return sum(s.value for s in samples(text)
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))
