"""The project's URLs plus /fault/<account id>/: a view with a bug, failing while it holds an account's
decrypted keys in its local variables and in its exception text (the shape of issue 9, item 1)."""

from django.urls import path

from exchanges.clients.ccxt_client import CcxtClient
from exchanges.models import ExchangeAccount
from tradingbot.urls import urlpatterns as project_urlpatterns


def fail_holding_keys(request, pk):
    account = ExchangeAccount.objects.get(pk=pk)
    client = CcxtClient(account)
    api_key, api_secret = account.api_key.reveal(), account.api_secret.reveal()
    headers = {"X-MBX-APIKEY": api_key, "signed-with": api_secret}
    note = f"calling {account.exchange_id} with {headers}"
    raise RuntimeError(f"forced failure after building {client!r}: {note}")


urlpatterns = [path("fault/<uuid:pk>/", fail_holding_keys), *project_urlpatterns]
