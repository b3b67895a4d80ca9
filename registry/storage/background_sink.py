"""Hash and write a byte stream on helper threads, so producing it (and sending it) does not wait for disk."""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable

_DONE = object()


class _Stage:
    """One consumer on its own thread, fed in order through a queue of at most ``depth`` pieces."""

    def __init__(self, consume: Callable[[bytes], object], depth: int, name: str) -> None:
        self._consume = consume
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._queue.get()) is not _DONE:
            if self.error is None:
                try:
                    assert isinstance(piece, bytes)
                    self._consume(piece)
                except BaseException as exc:  # reported to the producer at its next call
                    self.error = exc

    def put(self, piece: object) -> None:
        self._queue.put(piece)

    def join(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()


class BackgroundSink:
    """``put`` hands pieces to two threads, one hashing and one writing them in order (both let go of the
    GIL, so they run side by side); ``close`` waits and returns the sha256. At most ``depth`` pieces wait for
    each, which bounds the memory. A write error surfaces at the next ``put`` or at ``close``."""

    def __init__(self, write: Callable[[bytes], None], depth: int = 4) -> None:
        self._digest = hashlib.sha256()
        self._stages = (
            _Stage(self._digest.update, depth, "background-hash"),
            _Stage(write, depth, "background-write"),
        )

    def _raise_if_failed(self) -> None:
        for stage in self._stages:
            if stage.error is not None:
                raise stage.error

    def put(self, piece: bytes) -> None:
        self._raise_if_failed()
        for stage in self._stages:
            stage.put(piece)

    def close(self) -> str:
        for stage in self._stages:
            stage.join()
        self._raise_if_failed()
        return self._digest.hexdigest()

    def abandon(self) -> None:
        """Stop without raising (the caller is already failing); pending pieces are dropped unwritten."""
        for stage in self._stages:
            stage.error = stage.error or RuntimeError("abandoned")
        for stage in self._stages:
            stage.join()
