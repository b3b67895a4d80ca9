"""Where ``-o PATH`` / ``path=`` puts a file, with ``cp``'s rules."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def output_target(path: str | os.PathLike[str], default_name: str) -> Path:
    """``PATH/`` (a trailing separator) or an existing directory gets ``default_name`` inside it (the directory
    is created when the path ends with a separator); any other path is the file itself."""
    text = os.fspath(path)
    target = Path(text).expanduser()
    names_a_directory = text.endswith(("/", os.sep)) or (os.altsep is not None and text.endswith(os.altsep))
    if names_a_directory:
        target.mkdir(parents=True, exist_ok=True)
    if target.is_dir():
        return target / default_name
    return target


def copy_out(source: Path, path: str | os.PathLike[str], default_name: str) -> Path:
    """Copy ``source`` to where ``path`` says; the target appears whole or not at all."""
    target = output_target(path, default_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".incomplete")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
