"""Revisions of the Hugging Face Hub protocol (docs/huggingface.md), parsed here so the server and users who
build revision strings read them the same way.

A revision names one version of a model, or a composition on one of its versions::

    main                      the latest version
    v3 / 3                    a version
    prod                      an alias
    <40 hex>                  the revision sha the service hands out (X-Repo-Commit, model_info().sha)
    <64 hex>                  a composition id (POST /v1/compositions)
    v3+vision~rws-fog@v1=0.5  base + signatures: '+' before each signature, '~' for the '/' of its model,
                              '@' its version or alias (latest when absent), '=' its scale (1 when absent)

A signature may also be named by its artifact id (``v3+<32 hex>=-0.5``). No revision holds '/': clients quote
the revision into one path segment, and a decoded '/' would split it. Every character used survives
``urllib.parse.quote(revision, safe="")`` and is valid in a file name (clients keep ``refs/<revision>`` files).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

MAIN = "main"
MAX_REVISION_CHARS = 255  # clients keep refs/<revision> as a file: a longer name cannot be stored
MODEL_SEPARATOR = "~"  # stands for the '/' of 'namespace/name'
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_SELECTOR = re.compile(_NAME)
_SIGNATURE = re.compile(rf"(?P<model>{_NAME}~{_NAME})(?:@(?P<selector>{_NAME}))?|(?P<id>[0-9a-f]{{32}})")
# A decimal number, no '+' (it separates signatures): 0.5, -1.25, .5, 2, 1e-3
_SCALE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]-?[0-9]+)?")


@dataclass(frozen=True)
class Named:
    """``main`` (``selector`` is then ``latest``), a version or an alias."""

    selector: str


@dataclass(frozen=True)
class RevisionSha:
    sha: str


@dataclass(frozen=True)
class CompositionId:
    id: str


@dataclass(frozen=True)
class SignatureRef:
    ref: str  # as /v1/compositions reads it: 'namespace/name@selector' or an artifact id
    scale: float


@dataclass(frozen=True)
class Recipe:
    base: Named
    patches: tuple[SignatureRef, ...]


Revision = Named | RevisionSha | CompositionId | Recipe


def parse_revision(text: str) -> Revision:
    """What ``text`` names; a ValueError says what is wrong with it."""
    if not text or len(text) > MAX_REVISION_CHARS:
        raise ValueError(
            f"a revision has 1-{MAX_REVISION_CHARS} characters (clients store it as a file name); name a longer "
            "composition by its id (POST /v1/compositions)"
        )
    if "+" in text:
        return _parse_recipe(text)
    if _HEX40.fullmatch(text):
        return RevisionSha(text)
    if _HEX64.fullmatch(text):
        return CompositionId(text)
    return _parse_named(text)


def composition_revision(base: str, patches: Sequence[tuple[str, float]]) -> str:
    """The revision of ``base`` (a version, an alias or ``main``) composed with ``patches``: (signature, scale)
    pairs, a signature being ``'namespace/name[@version-or-alias]'`` or an artifact id."""
    parts = [base]
    for ref, scale in patches:
        if not math.isfinite(scale):
            raise ValueError("scales must be finite numbers")
        parts.append(f"{ref.replace('/', MODEL_SEPARATOR)}={_format_scale(scale)}")
    revision = "+".join(parts)
    parse_revision(revision)  # refuse what the service would refuse
    return revision


def _format_scale(scale: float) -> str:
    text = repr(float(scale))  # exact: the service reads back the same float
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{exponent.lstrip('+')}" if exponent else text


def _parse_named(text: str) -> Named:
    if text == MAIN:
        return Named("latest")
    if not _SELECTOR.fullmatch(text) or ".." in text:
        raise ValueError(
            f"revision {text[:80]!r} is not main, a version (v3), an alias, a revision sha, a composition id "
            "or base+signature=scale (docs/huggingface.md)"
        )
    return Named(text)


def _parse_recipe(text: str) -> Recipe:
    base_text, *patch_texts = text.split("+")

    if _HEX40.fullmatch(base_text) or _HEX64.fullmatch(base_text):
        raise ValueError("the base of a composition revision is main, a version or an alias, not a sha or an id")
    base = _parse_named(base_text)
    return Recipe(base, tuple(_parse_patch(patch) for patch in patch_texts))


def _parse_patch(text: str) -> SignatureRef:
    signature, has_scale, scale_text = text.partition("=")
    match = _SIGNATURE.fullmatch(signature)
    if match is None or ".." in signature:
        raise ValueError(
            f"{signature[:80]!r} is not a signature: write namespace~name[@version-or-alias] or an artifact id"
        )
    if has_scale and not _SCALE.fullmatch(scale_text):
        raise ValueError(f"{scale_text[:40]!r} is not a scale: write a decimal number such as 0.5, -1.25 or 1e-3")
    scale = float(scale_text) if has_scale else 1.0
    if not math.isfinite(scale):
        raise ValueError(f"the scale {scale_text[:40]!r} is not a finite number")
    if match["id"]:
        return SignatureRef(match["id"], scale)
    model = match["model"].replace(MODEL_SEPARATOR, "/")
    return SignatureRef(f"{model}@{match['selector']}" if match["selector"] else model, scale)
