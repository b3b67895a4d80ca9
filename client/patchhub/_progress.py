"""Progress on stderr (tqdm): transfers, hashing, and waits on the service.

``Client(progress=None)`` (the default) draws only when stderr is a terminal, so logs and pipes get no bar
characters; ``progress=True`` forces bars, ``False`` switches them off.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from tqdm.auto import tqdm

Progress = bool | None  # True: always, False: never, None: when stderr is a terminal


def enabled(progress: Progress) -> bool:
    if progress is None:
        return sys.stderr.isatty()
    return progress


def progress_bar(total: int, description: str, *, enabled: bool, initial: int = 0) -> tqdm:
    return tqdm(
        total=total,
        initial=initial,
        desc=description,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not enabled,
        leave=False,
        file=sys.stderr,
    )


@contextlib.contextmanager
def waiting(description: str, *, enabled: bool, refresh_seconds: float = 0.5) -> Iterator[None]:
    """A line with the elapsed time while the service works on something we cannot measure (completing an
    upload: joining parts, hashing, storing)."""
    if not enabled:
        yield
        return
    bar = tqdm(total=None, desc=description, bar_format="{desc}: {elapsed}", leave=False, file=sys.stderr)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(refresh_seconds):
            bar.refresh()

    ticker = threading.Thread(target=tick, name="patchhub-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        bar.close()
