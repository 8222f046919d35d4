from django.apps import AppConfig


class TradingbotConfig(AppConfig):
    name = "tradingbot"
    verbose_name = "Platform"

    def ready(self):
        from django.db.backends.signals import connection_created

        from tradingbot.file_permissions import secure_sqlite_connection

        connection_created.connect(secure_sqlite_connection, dispatch_uid="tradingbot.secure_sqlite_connection")
