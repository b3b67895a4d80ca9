"""Progress bars for transfers (tqdm on stderr), switched off with ``Client(progress=False)``."""

from __future__ import annotations

from tqdm.auto import tqdm


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
    )
