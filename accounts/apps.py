from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_out

        from accounts.sessions import close_sockets_of_session

        user_logged_out.connect(close_sockets_of_session, dispatch_uid="accounts.close_sockets_of_session")
