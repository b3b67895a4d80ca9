"""Serving a composed file: computed once however many ask (one request leads and streams it as it is
computed, the others wait for its cached copy), and read from the cache, Range included, by everyone after."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterator

from fastapi import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from registry.db.session import end_read_phase
from registry.errors import Unavailable
from registry.models import Composition
from registry.resources.compositions import service
from registry.resources.compositions.single_flight import COMPUTATIONS, Flight, computation_key
from registry.runtime import Runtime
from registry.storage.downloads import spliced_file_response, streamed
from registry.storage.splice import Splice

# How often a download computes (or waits for) a composition whose cache then is not there, before a 503.
COMPUTE_ATTEMPTS = 3


async def composition_file_response(
    runtime: Runtime,
    session: Session,
    composition: Composition,
    headers: dict[str, str],
    *,
    range_header: str | None,
    if_range: str | None,
) -> Response:
    """The composition's output (a one-file base): the base itself or the cached copy once there is one."""
    return await computed_once_response(
        runtime,
        session,
        composition,
        size=composition.size,
        headers=headers,
        flight_key=computation_key(runtime, composition.id),
        stored=lambda: service.stored_output(session, runtime, composition),
        compute=lambda flight: service.iter_and_cache(runtime, composition, flight),
        range_header=range_header,
        if_range=if_range,
    )


async def computed_once_response(
    runtime: Runtime,
    session: Session,
    composition: Composition,
    *,
    size: int,
    headers: dict[str, str],
    flight_key: str,
    stored: Callable[[], Splice | None],
    compute: Callable[[Flight], Iterator[bytes]],
    range_header: str | None,
    if_range: str | None,
) -> Response:
    """``stored``: where the bytes already are (None: not computed yet; asked again after another request may
    have computed them); ``compute(flight)``: the bytes, cached as they go, landing ``flight`` once cached. A
    Range request that finds nothing cached waits for the whole file, then reads its range from the cache. A
    cache that is gone again at once (evicted meanwhile) is computed again, a few times at most."""
    output = await run_in_threadpool(stored)
    if output is None:  # the computation commits its own row: this request must hold no lock and hide no row
        await run_in_threadpool(end_read_phase, session)
    for _attempt in range(COMPUTE_ATTEMPTS):
        if output is not None:
            break
        flight, leads = COMPUTATIONS.join(flight_key)
        if not leads:
            await flight.wait()
        else:
            body = compute(flight)
            first = await run_in_threadpool(next, body)  # started, so it lands the flight even if never read on
            if range_header is None:
                return streamed(itertools.chain([first], body), size, headers)
            await run_in_threadpool(collections.deque, body, 0)
        output = await run_in_threadpool(stored)
    if output is None:
        raise Unavailable(f"composition {composition.id} was computed but its cached output is gone; try again")
    await run_in_threadpool(service.record_read, session, composition)
    return spliced_file_response(runtime.store, output, headers, range_header=range_header, if_range=if_range)
