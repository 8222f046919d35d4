"""Password-reset e-mail goes out on a background thread, so the reset page answers in the same time whether
or not an account has the address (an SMTP round trip would otherwise tell)."""

import logging
import threading

log = logging.getLogger(__name__)
_pending: list[threading.Thread] = []
_lock = threading.Lock()


def send_in_background(send, *args, **kwargs) -> None:
    def run():
        try:
            send(*args, **kwargs)
        except Exception:
            log.exception("sending a password reset e-mail failed")

    thread = threading.Thread(target=run, name="password-reset-mail", daemon=True)
    with _lock:
        _pending[:] = [t for t in _pending if t.is_alive()]
        _pending.append(thread)
    thread.start()


def wait_for_mail(timeout: float = 10.0) -> None:
    """Wait until the e-mails queued so far are sent (tests, and a clean shutdown)."""
    with _lock:
        threads = list(_pending)
    for thread in threads:
        thread.join(timeout)
