"""Pages to add, list, edit and delete a user's exchange accounts. Secrets are only ever shown masked."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from exchanges.forms import ExchangeAccountForm, exchange_choices
from exchanges.models import UNREADABLE_KEYS_MESSAGE, ExchangeAccount


def _own_account(request, pk):
    return get_object_or_404(ExchangeAccount.objects.for_user(request.user), pk=pk)


@login_required
def account_list(request):
    accounts = ExchangeAccount.objects.for_user(request.user)
    return render(request, "exchanges/account_list.html", {"accounts": accounts})


@login_required
def account_detail(request, pk):
    account = _own_account(request, pk)
    return render(request, "exchanges/account_detail.html", {
        "account": account, "unreadable": bool(account.unreadable_secrets()),
        "unreadable_message": UNREADABLE_KEYS_MESSAGE,
    })


@sensitive_post_parameters(*ExchangeAccountForm.SECRET_FIELDS)
@login_required
@require_http_methods(["GET", "POST"])
def account_create(request):
    form = ExchangeAccountForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        account = form.save()
        messages.success(request, _("Exchange account “%(label)s” added.") % {"label": account.label})
        return redirect("exchanges:detail", pk=account.pk)
    return render(request, "exchanges/account_form.html", {"form": form, "exchanges": exchange_choices()})


@sensitive_post_parameters(*ExchangeAccountForm.SECRET_FIELDS)
@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request, pk):
    account = _own_account(request, pk)
    form = ExchangeAccountForm(request.POST or None, instance=account, owner=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Exchange account “%(label)s” saved.") % {"label": account.label})
        return redirect("exchanges:detail", pk=account.pk)
    return render(
        request, "exchanges/account_form.html", {"form": form, "account": account, "exchanges": exchange_choices()}
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request, pk):
    account = _own_account(request, pk)
    if request.method == "POST":
        label = account.label
        try:
            account.delete()
        except ProtectedError as exc:
            users = sorted({str(obj) for obj in exc.protected_objects})
            messages.error(
                request,
                f"“{label}” is still used by {len(users)} bot(s): {', '.join(users[:5])}"
                f"{' …' if len(users) > 5 else ''}. Delete those first; nothing was deleted.",
            )
            return redirect("exchanges:detail", pk=account.pk)
        messages.success(request, _("Exchange account “%(label)s” deleted; its keys are gone from the database.") % {
            "label": label})
        return redirect("exchanges:list")
    return render(request, "exchanges/account_confirm_delete.html", {"account": account})
