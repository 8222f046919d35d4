"""Is a session still logged in as its user? For long-lived connections (the live websocket) that must stop
when their session ends: logout (here or in another tab), a password change, expiry, a deactivated user."""

import hashlib
import logging
from importlib import import_module

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.utils.crypto import constant_time_compare

log = logging.getLogger(__name__)


def session_group(session_key: str) -> str:
    """The channel-layer group of the connections opened with one session (told when it logs out)."""
    return "auth-session-" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def session_authenticates(session_key: str | None, user_id) -> bool:
    """True while the stored session still logs in `user_id`, checked as Django's get_user checks a request:
    the user exists and may log in, and the session's auth hash matches the current password."""
    if not session_key or user_id is None:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    if str(session.get(SESSION_KEY)) != str(user_id) or BACKEND_SESSION_KEY not in session:
        return False
    if session[BACKEND_SESSION_KEY] not in settings.AUTHENTICATION_BACKENDS:
        return False
    user = load_backend(session[BACKEND_SESSION_KEY]).get_user(user_id)
    if user is None:
        return False
    stored = session.get(HASH_SESSION_KEY)
    if not stored or not hasattr(user, "get_session_auth_hash"):
        return False
    if constant_time_compare(stored, user.get_session_auth_hash()):
        return True
    return any(constant_time_compare(stored, h) for h in user.get_session_auth_fallback_hash())


def close_sockets_of_session(sender, request, user, **kwargs) -> None:
    """user_logged_out receiver: the connections of that session close now, not at their next re-check."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if not session_key:
        return
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_key), {"type": "session.ended"})
    except Exception:  # the logout itself must never fail; the sockets' own re-check closes them soon after
        log.warning("could not tell the live connections of a session that it logged out", exc_info=True)
