"""Write a byte stream on a helper thread, so producing it (and sending it) does not wait for the disk."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

_DONE = object()


class BackgroundWriter:
    """``put`` hands pieces to a thread that writes them in order (writing lets go of the GIL, so it runs beside
    the producer); ``close`` waits for the last. At most ``depth`` pieces wait, which bounds the memory. A write
    error surfaces at the next ``put`` or at ``close``."""

    def __init__(self, write: Callable[[bytes], None], depth: int = 4) -> None:
        self._write = write
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="background-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._queue.get()) is not _DONE:
            if self._error is None:
                try:
                    assert isinstance(piece, bytes)
                    self._write(piece)
                except BaseException as exc:  # reported to the producer at its next call
                    self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, piece: bytes) -> None:
        self._raise_if_failed()
        self._queue.put(piece)

    def close(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        self._raise_if_failed()

    def abandon(self) -> None:
        """Stop without raising (the caller is already failing); pending pieces are dropped unwritten."""
        self._error = self._error or RuntimeError("abandoned")
        self._queue.put(_DONE)
        self._thread.join()
