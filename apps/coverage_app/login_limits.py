"""Limits on failed log-ins: exponential back-off and lock-out, per user name and per address.

The log-in page (:class:`coverage_app.auth.HashedAuthProvider`) asks :class:`LoginLimiter`
before checking a password, and tells it how the attempt went.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginLimiter"]


@dataclass
class LoginLimiter:
    """Exponential back-off and lock-out of failed log-ins, per user name and per address.

    After ``free`` failures within ``window`` seconds, the next attempt must wait 1 s, 2 s,
    4 s, ... (at most ``max_delay``) after the last failure; ``lockout`` failures within
    ``window`` refuse every attempt until the oldest of them is ``window`` old. Attempts
    refused this way are not checked and not counted. Counts live in memory (a restart
    clears them).

    Parameters
    ----------
    window
        Seconds over which failures count (15 minutes).
    user_free, user_lockout
        Failures of one user name before back-off (3) and lock-out (10).
    address_free, address_lockout
        Failures from one client address before back-off (20) and lock-out (50): higher, as
        an office may share one address.
    max_delay
        Longest back-off between two attempts, in seconds (60).
    clock
        Monotonic clock (replaced in tests).
    """

    window: float = 15 * 60
    user_free: int = 3
    user_lockout: int = 10
    address_free: int = 20
    address_lockout: int = 50
    max_delay: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def shared_by(cls, processes: int) -> LoginLimiter:
        """A limiter for one of ``processes`` server processes, each counting the attempts it
        takes: its limits are the defaults divided among them (rounded up), so that all
        together allow about as many attempts as one process would."""
        n = max(1, int(processes))

        def part(limit: int) -> int:
            return max(1, -(-limit // n))

        return cls(user_free=part(cls.user_free), user_lockout=part(cls.user_lockout),
                   address_free=part(cls.address_free),
                   address_lockout=part(cls.address_lockout))

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def _wait(self, times: deque[float], free: int, lockout: int, now: float) -> float:
        if len(times) >= lockout:
            return times[-lockout] + self.window - now
        if len(times) >= free:
            delay = min(2.0 ** (len(times) - free), self.max_delay)
            return times[-1] + delay - now
        return 0.0

    def retry_after(self, user: str, address: str) -> float:
        """Seconds before ``user`` may try again from ``address`` (0: now).

        Parameters
        ----------
        user, address
            The user name typed and the client's IP.

        Returns
        -------
        float
            Seconds to wait.
        """
        with self._lock:
            now = self.clock()
            waits = (self._wait(self._recent(("user", user), now), self.user_free,
                                self.user_lockout, now),
                     self._wait(self._recent(("address", address), now), self.address_free,
                                self.address_lockout, now))
        return max(0.0, *waits)

    def attempt(self, user: str, address: str) -> float:
        """Count an attempt as failed until :meth:`succeeded` says otherwise; its time.

        Counting before the password is checked stops a burst of simultaneous attempts.

        Parameters
        ----------
        user, address
            The user name typed and the client's IP.

        Returns
        -------
        float
            The attempt's time, for :meth:`succeeded`.
        """
        with self._lock:
            now = self.clock()
            if len(self._failures) > 100_000:  # many names or addresses: forget the oldest
                for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[:50_000]:
                    del self._failures[key]
            for key in (("user", user), ("address", address)):
                self._failures.setdefault(key, deque()).append(now)
        return now

    def succeeded(self, user: str, address: str, when: float) -> None:
        """Forget the user's failures and the address's count of this attempt.

        Parameters
        ----------
        user, address
            The user name and the client's IP.
        when
            The time :meth:`attempt` returned.
        """
        with self._lock:
            self._failures.pop(("user", user), None)
            times = self._failures.get(("address", address))
            if times is not None:
                with contextlib.suppress(ValueError):  # forgotten meanwhile
                    times.remove(when)
                if not times:
                    del self._failures[("address", address)]
