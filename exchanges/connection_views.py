"""The "Test connection" button of an exchange account: a POST that reports OK or the mapped error."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from exchanges.connection import test_connection
from exchanges.models import ExchangeAccount


@login_required
@require_POST
def test_connection_view(request, pk):
    account = get_object_or_404(ExchangeAccount.objects.for_user(request.user), pk=pk)
    ok, message = test_connection(account)
    (messages.success if ok else messages.error)(request, f"{account.label}: {message}")
    return redirect("exchanges:detail", pk=account.pk)
