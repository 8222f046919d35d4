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


def sessions_still_authenticating(pairs: set[tuple[str, object]]) -> set[tuple[str, object]]:
    """The (session_key, user_id) pairs whose session still logs that user in: one query for the sessions and one
    for the users with the database session engine (any number of connections), one check each otherwise."""
    if not pairs:
        return set()
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return {pair for pair in pairs if session_authenticates(*pair)}
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    stored = {row.session_key: store.decode(row.session_data) for row in
              Session.objects.filter(session_key__in={key for key, _ in pairs}, expire_date__gt=timezone.now())}
    users = {str(u.pk): u for u in get_user_model()._default_manager.filter(pk__in={uid for _, uid in pairs})}
    valid = set()
    for key, user_id in pairs:
        data, user = stored.get(key), users.get(str(user_id))
        if not data or user is None or str(data.get(SESSION_KEY)) != str(user_id):
            continue
        backend = data.get(BACKEND_SESSION_KEY)
        if backend not in settings.AUTHENTICATION_BACKENDS:
            continue
        if not getattr(load_backend(backend), "user_can_authenticate", lambda u: True)(user):
            continue
        stored_hash = data.get(HASH_SESSION_KEY) or ""
        hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
        if stored_hash and any(constant_time_compare(stored_hash, h) for h in hashes):
            valid.add((key, user_id))
    return valid


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
