"""The assistant's admin: both models registered, pages load, requests read-only, staff see only their own."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from assistant.models import AssistantPreference, AssistantRequest
from assistant.understanding import understand
from bots.tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_both_models_have_an_admin_whose_pages_load(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="correct-horse-battery-2")
    client.force_login(root)
    understand("price of btc", user=root)
    for model in (AssistantRequest, AssistantPreference):
        assert admin.site.is_registered(model)
        opts = model._meta
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    assert client.get(reverse("admin:assistant_assistantpreference_add")).status_code == 200
    row = AssistantRequest.objects.get()
    page = client.get(reverse("admin:assistant_assistantrequest_change", args=[row.pk]))
    assert page.status_code == 200 and b"price of btc" in page.content
    assert client.get(reverse("admin:assistant_assistantrequest_add")).status_code == 403


def test_staff_see_only_their_own_requests(client):
    staff = make_user("staff")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_assistantrequest"))
    understand("price of btc", user=staff)
    understand("price of eth", user=make_user("other"))
    client.force_login(staff)
    page = client.get(reverse("admin:assistant_assistantrequest_changelist"))
    assert page.status_code == 200 and b"price of btc" in page.content and b"price of eth" not in page.content
