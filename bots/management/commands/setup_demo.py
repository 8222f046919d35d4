"""Set up the demo: a demo user (and, as the pieces arrive, demo candles and a paper bot). Idempotent."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader-2026"


class Command(BaseCommand):
    help = "Create the demo user (demo / demo-trader-2026). Safe to run again."

    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        self.stdout.write(f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD}" + ("" if created else " (existing user)"))
