"""Exit 0 when a django-q2 worker cluster has a fresh heartbeat, 1 otherwise (for container healthchecks)."""

from django.core.management.base import BaseCommand, CommandError

from tradingbot.health import check_worker


class Command(BaseCommand):
    help = "Exit 0 if a worker (manage.py qcluster) is alive, else print why and exit 1."

    def handle(self, *args, **options):
        problem = check_worker()
        if problem:
            raise CommandError(problem)
        self.stdout.write("worker alive")
