from django import forms

from notify.models import NotificationSettings


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ("order_filled", "exit_hit", "bot_problem", "alert_fired", "daily_summary", "daily_summary_hour")
        widgets = {"daily_summary_hour": forms.NumberInput(attrs={"min": 0, "max": 23})}
