"""The Settings page: the user's profile (time zone) and the sections other apps register (Telegram,
notifications), each a template with its own context, so this app does not know about them."""

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import language
from accounts.models import Profile


@dataclass(frozen=True)
class Section:
    name: str
    template: str
    context: Callable  # (request) -> dict for the template
    order: int = 50


SECTIONS: dict[str, Section] = {}


def register_section(name: str, template: str, context: Callable, order: int = 50) -> None:
    """Add a section to the Settings page (from an app's ready())."""
    SECTIONS[name] = Section(name, template, context, order)


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), choices=())
    # Not sent (an older form, a script): the language the page is in stays.
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES, required=False)

    class Meta:
        model = Profile
        fields = ("language", "time_zone")

    def clean_language(self):
        return self.cleaned_data.get("language") or self.instance.language or translation.get_language()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]


def sections_for(request, **overrides) -> list[dict]:
    """Each registered section's template and context; `overrides` replace one section's context (a POST
    that renders the page again with what it just made, e.g. a one-time link)."""
    rendered = []
    for section in sorted(SECTIONS.values(), key=lambda s: (s.order, s.name)):
        context = overrides.get(section.name) or section.context(request)
        rendered.append({"name": section.name, "template": section.template, "context": context})
    return rendered


def render_settings(request, form=None, status=200, **overrides):
    profile = Profile.of(request.user)
    if form is None:
        initial = {}
        if not profile.language:
            initial["language"] = translation.get_language()  # what the page is shown in now
        if profile.time_zone == "UTC":
            # The browser's zone (the time-zone middleware activated it) as a suggestion, saved only on Save.
            initial["time_zone"] = timezone.get_current_timezone_name()
        form = ProfileForm(instance=profile, initial=initial)
    return render(request, "accounts/settings.html", {"form": form, "sections": sections_for(request, **overrides)},
                  status=status)


@login_required
def settings_view(request):
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=Profile.of(request.user))
        if form.is_valid():
            profile = form.save()
            translation.activate(profile.language)  # the confirmation in the language just chosen
            messages.success(request, _("Your settings were saved."))
            response = redirect("accounts:settings")
            language.set_cookie(response, profile.language)
            return response
        return render_settings(request, form=form, status=400)
    return render_settings(request)
