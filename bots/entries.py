"""Stop new entries for all of a user's bots, and allow them again: the owner-wide switch behind
/stopentry and /resume_entries. Bots keep running and open positions keep their exits.

The switch is `accounts.Profile.entries_stopped_at`; the tick reads it into the risk state when it
considers an entry (`entries_stopped_for`), and `bots.risk.entries_stopped` refuses the entry while it
is set, with a refusal event on the bot like any other risk rule.
"""

from django.utils import timezone

from accounts.models import Profile


def stop_entries(user, *, source: str) -> bool:
    """Stop new entries; False when they were stopped already (nothing changes then)."""
    Profile.of(user)
    changed = Profile.objects.filter(user=user, entries_stopped_at__isnull=True).update(
        entries_stopped_at=timezone.now(), entries_stopped_by=source[:20])
    return changed == 1


def resume_entries(user, *, source: str) -> bool:
    """Allow new entries again; False when they were not stopped."""
    changed = Profile.objects.filter(user=user, entries_stopped_at__isnull=False).update(
        entries_stopped_at=None, entries_stopped_by="")
    return changed == 1


def entries_stopped_for(owner_id: int) -> bool:
    """What the tick puts in the risk state (one indexed query, only when an entry is considered)."""
    return Profile.objects.filter(user_id=owner_id, entries_stopped_at__isnull=False).exists()
