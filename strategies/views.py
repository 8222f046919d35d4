from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def config_list(request):
    return render(request, "strategies/config_list.html", {})
