"""How many requests of this process may sit in a ``?wait=`` at once, overall and per shop.

A long poll holds a request thread for its whole wait. Without a cap, a handful of clients
polling ``?wait=120`` take every thread and nobody else is answered; with one, a wait that
finds no free slot answers at once with the job as it is (``?wait=`` is best-effort).
Pure: no Flask, no SQL. One :class:`WaitSlots` per process and cap (:func:`slots_for`).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

# What a client told "no slot" should wait before polling again.
RETRY_AFTER_S = 2


class WaitSlots:
    """A non-blocking counting semaphore with a second, per-shop bound."""

    def __init__(self, total: int, per_shop: int):
        self.total = max(0, total)
        self.per_shop = max(0, min(per_shop, self.total))
        self._held: Counter[int] = Counter()
        self._lock = threading.Lock()

    def try_acquire(self, shop_id: int) -> bool:
        """Take a slot for ``shop_id`` if both bounds allow it; never blocks."""
        with self._lock:
            if sum(self._held.values()) >= self.total or self._held[shop_id] >= self.per_shop:
                return False
            self._held[shop_id] += 1
            return True

    def release(self, shop_id: int) -> None:
        with self._lock:
            if self._held[shop_id] <= 0:
                raise RuntimeError(f"shop {shop_id} released a wait slot it did not hold")
            self._held[shop_id] -= 1
            if not self._held[shop_id]:
                del self._held[shop_id]

    @contextmanager
    def hold(self, shop_id: int) -> Iterator[bool]:
        """``with slots.hold(shop) as granted:`` wait only if ``granted``; the slot is given back after."""
        granted = self.try_acquire(shop_id)
        try:
            yield granted
        finally:
            if granted:
                self.release(shop_id)

    def in_use(self, shop_id: int | None = None) -> int:
        with self._lock:
            return sum(self._held.values()) if shop_id is None else self._held[shop_id]


def default_total(request_threads: int) -> int:
    """At most half the request threads wait; the other half always answer (0 for one thread)."""
    return max(0, request_threads) // 2


_slots: dict[tuple[int, int], WaitSlots] = {}
_slots_lock = threading.Lock()


def slots_for(total: int, per_shop: int) -> WaitSlots:
    """This process's slots for these caps: every app in the process (all-in-one mounts the
    gateway and the services together) shares them, since they share the threads."""
    with _slots_lock:
        return _slots.setdefault((total, per_shop), WaitSlots(total, per_shop))


def _after_fork_in_child() -> None:
    # A forked worker starts with no waits of its own, whatever the parent held at the fork.
    global _slots, _slots_lock
    _slots, _slots_lock = {}, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
