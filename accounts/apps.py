from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from accounts.language import adopt_language_on_login
        from accounts.sessions import close_sockets_of_session

        user_logged_out.connect(close_sockets_of_session, dispatch_uid="accounts.close_sockets_of_session")
        user_logged_in.connect(adopt_language_on_login, dispatch_uid="accounts.adopt_language_on_login")
