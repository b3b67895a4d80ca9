"""One computation per composition at a time in this process: the first download computes and caches it, the
downloads that arrive meanwhile wait for that cache instead of computing the same bytes again. Waiting is
asynchronous (no thread is held), so any number of waiters cannot starve the leader's thread pool."""

from __future__ import annotations

import asyncio
import threading

from registry.runtime import Runtime


def computation_key(runtime: Runtime, composition_id: str) -> str:
    """What work on a composition is keyed on in this process: the composition in this runtime's store."""
    return f"{runtime.store!r}:{composition_id}"


class Flight:
    """A computation under way; ``land`` wakes everyone who ``wait``s for it."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._lock = threading.Lock()
        self._landed = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def waiting(self) -> int:
        """How many downloads wait for this computation."""
        with self._lock:
            return len(self._waiters)

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._landed:
                return
            self._waiters.append((loop, future))
        await future

    def _wake(self) -> None:
        with self._lock:
            self._landed = True
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a waiter whose client went away was cancelled
        future.set_result(None)


class SingleFlight:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Flight] = {}

    def join(self, key: str) -> tuple[Flight, bool]:
        """The flight computing ``key`` and whether the caller leads it (and must ``land`` it) or waits on it."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = self._flights[key] = Flight(key)
            return flight, True

    def get(self, key: str) -> Flight | None:
        with self._lock:
            return self._flights.get(key)

    def land(self, flight: Flight) -> None:
        """The leader is finished (cached or failed): wake the waiters. Safe to call more than once."""
        with self._lock:
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]
        flight._wake()


COMPUTATIONS = SingleFlight()
