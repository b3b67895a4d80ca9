"""Downloading a model folder version: each file through the download cache (resumed, verified, and fetched
once however many versions share it), then copied to its path under the target directory."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from patchhub._http import Transport
from patchhub._output import copy_out, output_target
from patchhub.cache import BlobCache
from patchhub.download import RemoteFile, fetch_to_cache
from patchhub.types import Artifact


def download_folder(
    transport: Transport, cache: BlobCache, artifact: Artifact, path: str | os.PathLike[str], *, progress: bool
) -> Path:
    """Write the folder's files under ``path`` (an existing directory, or one ending with ``/``, receives
    ``<name>-v<version>/``; any other path is the folder itself). Returns the folder."""
    root = output_target(path, f"{artifact.model.split('/')[1]}-v{artifact.version}")
    listed = transport.request_json("GET", f"/v1/artifacts/{artifact.id}/files")
    for entry in listed:
        relative = PurePosixPath(entry["path"])
        if relative.is_absolute() or ".." in relative.parts:  # the service never lists one; never write one
            raise ValueError(f"the service listed a file outside the folder: {entry['path']!r}")
        remote = RemoteFile(
            f"/v1/artifacts/{artifact.id}/files/{quote(entry['path'], safe='/')}",
            entry["sha256"],
            entry["size"],
            f"{artifact.ref}:{entry['path']}",
        )
        cached = fetch_to_cache(transport, cache, remote, progress=progress)
        copy_out(cached, root.joinpath(*relative.parts), relative.name)
    return root
