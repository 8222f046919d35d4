"""The replay clock: simulated time = start + offset + (wall now - wall start) * speed."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone


@dataclass
class ReplayClock:
    """A Bot gives start=bot.replay_start, speed=bot.replay_speed, wall_start=bot.replay_started_at,
    offset=bot.replay_offset (replay time already played before a pause). A fixed clock (tests) ignores
    the wall clock: ReplayClock.fixed(t), then clock.advance(minutes=5) or clock.set(t)."""

    start: datetime
    speed: float = 1.0
    wall_start: datetime | None = None
    offset: timedelta | None = None
    frozen: bool = False

    @classmethod
    def fixed(cls, at: datetime) -> "ReplayClock":
        return cls(start=at, speed=0.0, frozen=True)

    def now(self) -> datetime:
        now = self.start + (self.offset or timedelta(0))
        if not self.frozen and self.wall_start is not None:
            now += (timezone.now() - self.wall_start) * self.speed
        return now

    def advance(self, **delta) -> datetime:
        if not self.frozen:
            raise ValueError("only a fixed clock can be advanced by hand")
        self.start += timedelta(**delta)
        return self.start

    def set(self, at: datetime) -> None:
        if not self.frozen:
            raise ValueError("only a fixed clock can be set by hand")
        self.start = at
