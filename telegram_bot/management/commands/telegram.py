"""Receive Telegram updates by long polling (the default), or set up / remove the webhook instead.

    manage.py telegram                                   # long polling until Ctrl-C or SIGTERM
    manage.py telegram --set-webhook https://trade.example.org/telegram/webhook
    manage.py telegram --delete-webhook
    manage.py telegram --info

Both ways feed the same function (telegram_bot.dispatcher.dispatch). Starting long polling removes a
webhook (Telegram delivers one way at a time).
"""

import logging
import signal

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from telegram import Update
from telegram import error as tg_error
from telegram.ext import Application, ContextTypes, TypeHandler

from telegram_bot import client, config
from telegram_bot.actions import perform_all
from telegram_bot.dispatcher import dispatch

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 10  # seconds Telegram holds a getUpdates open when there is nothing new


def _dispatch(update: Update) -> list:
    close_old_connections()  # as a request does: a connection the database dropped is replaced
    try:
        return dispatch(update)
    finally:
        close_old_connections()


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    actions = await sync_to_async(_dispatch)(update)
    await perform_all(context.bot, actions)


class Command(BaseCommand):
    help = "Receive Telegram updates by long polling (until SIGTERM/Ctrl-C), or set or delete the webhook."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--set-webhook", metavar="URL",
                           help="Have Telegram POST updates to URL (https://<your host>/telegram/webhook).")
        group.add_argument("--delete-webhook", action="store_true", help="Stop webhook delivery.")
        group.add_argument("--info", action="store_true", help="Show the bot's name and the webhook state.")
        parser.add_argument("--poll-timeout", type=int, default=POLL_TIMEOUT,
                            help="Seconds each long poll waits for updates (default %(default)s).")

    def handle(self, *args, **options):
        if not config.enabled():
            raise CommandError("Telegram is off: set TELEGRAM_BOT_TOKEN (from @BotFather) first.")
        try:
            if options["set_webhook"]:
                return self.set_webhook(options["set_webhook"])
            if options["delete_webhook"]:
                client.run(lambda bot: bot.delete_webhook())
                self.stdout.write("Webhook deleted: use `manage.py telegram` (long polling) to receive updates.")
                return
            if options["info"]:
                return self.info()
            self.poll(options["poll_timeout"])
        except client.TelegramFailure as exc:
            raise CommandError(f"Telegram: {exc}")

    def set_webhook(self, url: str) -> None:
        secret = config.webhook_secret()
        if not secret:
            raise CommandError("Set TELEGRAM_WEBHOOK_SECRET first: the webhook refuses every call without it.")
        client.run(lambda bot: bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES))
        self.stdout.write(f"Webhook set: Telegram now POSTs updates to {url} with the secret header.")

    def info(self) -> None:
        async def ask(bot):
            return await bot.get_me(), await bot.get_webhook_info()

        me, hook = client.run(ask)
        self.stdout.write(f"Bot: @{me.username} (id {me.id})")
        self.stdout.write(f"Webhook: {hook.url or 'none (long polling)'}; pending updates: {hook.pending_update_count}")

    def poll(self, poll_timeout: int) -> None:
        bot = client.build_bot(
            client.PlatformExtBot, request=client.http_request(),
            get_updates_request=client.http_request(read_timeout=poll_timeout + 10),
        )
        application = Application.builder().bot(bot).build()
        application.add_handler(TypeHandler(Update, on_update))
        application.add_error_handler(self.on_error)

        async def started(app):
            self.stdout.write(f"Telegram long polling as @{app.bot.username}; Ctrl-C or SIGTERM stops it.")
            self.stdout.flush()

        application.post_init = started
        try:
            application.run_polling(
                allowed_updates=ALLOWED_UPDATES, timeout=poll_timeout, bootstrap_retries=-1,
                stop_signals=(signal.SIGINT, signal.SIGTERM),
            )
        except tg_error.TelegramError as exc:  # a rejected token at start-up: its text holds the token
            raise client.map_error(exc) from None
        self.stdout.write("Telegram long polling stopped.")

    async def on_error(self, update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Logged through the token-redacting handler (settings.LOGGING); polling goes on.
        log.error("Telegram update failed", exc_info=context.error)
