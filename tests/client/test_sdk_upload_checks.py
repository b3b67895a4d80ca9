"""What the SDK refuses before sending anything: files that are not safetensors, named for what they are."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from patchhub.errors import NotSafetensorsError
from patchhub.upload import local_file


def test_a_header_length_whose_low_byte_looks_like_a_pickle_is_still_safetensors(tmp_path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (128 - len(header))  # safetensors pads headers with spaces; 128 = 0x80 as the first byte
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", 128) + header + np.ones(2, np.float32).tobytes())
    assert path.read_bytes()[0] == 0x80 and load_file(str(path))["w"].tolist() == [1.0, 1.0]
    with local_file(path, None) as file:
        assert file.size == 8 + 128 + 8


def test_pickles_and_other_files_are_refused_with_what_they_are(tmp_path: Path) -> None:
    legacy = tmp_path / "model.pth"
    legacy.write_bytes(pickle.dumps({"w": [1.0]}, protocol=4))
    pickled = pytest.raises(NotSafetensorsError, match=r"model\.pth is a Python pickle .* save_file\(torch\.load")
    with pickled, local_file(legacy, None):
        pass
    with pytest.raises(NotSafetensorsError, match="is not a safetensors file"), local_file(b"plain text", None):
        pass
