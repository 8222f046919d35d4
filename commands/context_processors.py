"""What base.html needs on every page: the starting cursor of the user's notification socket (computed only
when a page renders it)."""

from functools import partial


def live_notifications(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from bots.live import last_message_id, notify_group

    return {"notify_after": partial(last_message_id, notify_group(user.pk))}
