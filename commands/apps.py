from django.apps import AppConfig


class CommandsConfig(AppConfig):
    name = "commands"
    verbose_name = "Commands, alerts and activity"

    def ready(self):
        # The handlers register themselves with the command service (commands.service.HANDLERS).
        from commands import alerts, bot_changes, trading  # noqa: F401
