"""The Hugging Face revision syntax: what each form names, and that every form survives the client's quoting."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest

from patchhub.hf_revisions import (
    CompositionId,
    Named,
    Recipe,
    RevisionSha,
    SignatureRef,
    composition_revision,
    parse_revision,
)

SIG_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("main", Named("latest")),
        ("v3", Named("v3")),
        ("prod", Named("prod")),
        ("a" * 40, RevisionSha("a" * 40)),
        ("b" * 64, CompositionId("b" * 64)),
        (
            "v2+vision~rws-fog@v1=0.5+vision~snow+" + SIG_ID + "=-1.25e-3",
            Recipe(
                Named("v2"),
                (
                    SignatureRef("vision/rws-fog@v1", 0.5),
                    SignatureRef("vision/snow", 1.0),
                    SignatureRef(SIG_ID, -1.25e-3),
                ),
            ),
        ),
    ],
)
def test_each_form_names_what_the_docs_say(text: str, parsed: object) -> None:
    assert parse_revision(text) == parsed
    assert unquote(quote(text, safe="")) == text and "/" not in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "1-255 characters"),
        ("main+" + "+".join(["vision~fog-signature"] * 13), "1-255 characters"),  # too long to be a file name
        ("refs/pr/1", "is not main, a version"),
        ("main+", "is not a signature"),
        ("main+vision/fog", "is not a signature"),
        ("main+vision~fog=1e+3", "not a scale"),  # '+' separates signatures; exponents have none
        ("main+vision~fog=nan", "not a scale"),
        ("main+vision~fog=1e999", "not a finite number"),
        ("main" + "+a~b" * 62, None),  # 252 characters
        ("main" + "+a~b" * 63, "1-255 characters"),
        ("a" * 40 + "+a~b", "not a sha or an id"),
        ("main+vision~..=1", "is not a signature"),
    ],
)
def test_malformed_revisions_say_what_is_wrong(text: str, message: str | None) -> None:
    if message is None:  # the largest revision of its kind that is still fine
        parse_revision(text)
        return
    with pytest.raises(ValueError, match=message):
        parse_revision(text)


@pytest.mark.parametrize("scale", [0.5, -1.25, 1e-7, 3e20, 0.1 + 0.2, -0.0])
def test_composition_revision_reads_back_the_exact_scale(scale: float) -> None:
    revision = composition_revision("main", [("vision/fog@v2", scale)])
    (patch,) = parse_revision(revision).patches  # type: ignore[union-attr]
    assert patch == SignatureRef("vision/fog@v2", scale)
