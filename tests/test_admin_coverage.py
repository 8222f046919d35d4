"""Every model of ours has an admin, and its list and add pages load for a superuser."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

OUR_APPS = ("accounts", "exchanges", "strategies", "bots", "commands", "assistant", "telegram_bot", "notify", "api",
            "research")


def our_models():
    return [m for label in OUR_APPS for m in apps.get_app_config(label).get_models()]


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_model_is_registered_in_admin(model):
    assert admin.site.is_registered(model), f"{model._meta.label} has no admin"


@pytest.mark.django_db
@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_admin_pages_load(client, django_user_model, model):
    root = django_user_model.objects.create_superuser("root", password="correct-horse-battery-2")
    client.force_login(root)
    opts = model._meta
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    model_admin = admin.site._registry[model]
    if model_admin.has_add_permission(type("R", (), {"user": root})()):
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200
