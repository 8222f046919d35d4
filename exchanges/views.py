from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from exchanges.models import ExchangeAccount


@login_required
def account_list(request):
    accounts = ExchangeAccount.objects.for_user(request.user)
    return render(request, "exchanges/account_list.html", {"accounts": accounts})
