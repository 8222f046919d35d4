"""The capability table: what each client says it can do, and settings overrides."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from exchanges.capabilities import SIMULATED, for_exchange


def test_binance_reuses_filled_ids_holds_stops_and_takes_fees_in_the_coin():
    binance = for_exchange("binance")
    assert not binance.refuses_duplicates and binance.fetch_by_client_id and binance.fee_in_base
    assert binance.protective_order_type == "stop_limit" and not binance.simulated


def test_an_unlisted_exchange_assumes_nothing_and_simulated_ones_have_brackets():
    other = for_exchange("someexchange")
    assert other.name == "someexchange" and not other.refuses_duplicates and other.protective_order_type == ""
    assert SIMULATED.simulated and SIMULATED.protective_order_type == "bracket" and SIMULATED.refuses_duplicates


def test_settings_override_entries_and_refuse_unknown_fields(settings):
    settings.EXCHANGE_CAPABILITIES = {"binance": {"stop_orders": ["stop_market"], "lookup_window": 5}}
    binance = for_exchange("binance")
    assert binance.stop_orders == ("stop_market",) and binance.lookup_window == 5
    settings.EXCHANGE_CAPABILITIES = {"binance": {"refuses_dupes": True}}
    with pytest.raises(ImproperlyConfigured, match="unknown fields"):
        for_exchange("binance")
