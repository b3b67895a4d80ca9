"""The errors of the Hugging Face Hub protocol: the status, plus the ``X-Error-Code`` / ``X-Error-Message`` headers
huggingface_hub reads to raise RepositoryNotFoundError, RevisionNotFoundError or EntryNotFoundError."""

from __future__ import annotations

from registry.errors import NotFound, PatchhubError, Unauthorized

PUSH_INSTEAD = (
    "patchhub does not take uploads over the Hugging Face protocol; push a file or a folder as a new version "
    "with `patchhub push PATH namespace/name` (docs/huggingface.md)"
)


def header_text(detail: str) -> str:
    """``detail`` as one line of printable ASCII (a header value cannot carry newlines or other bytes)."""
    return "".join(c if " " <= c <= "~" else "?" for c in detail)[:500]


def _hf_headers(code: str, detail: str, commit: str | None) -> dict[str, str]:
    headers = {"X-Error-Code": code, "X-Error-Message": header_text(detail)}
    if commit is not None:
        headers["X-Repo-Commit"] = commit  # lets the client cache that the file is absent at this revision
    return headers


class RepoNotFound(NotFound):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers=_hf_headers("RepoNotFound", detail, None))


class RevisionNotFound(NotFound):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers=_hf_headers("RevisionNotFound", detail, None))


class EntryNotFound(NotFound):
    def __init__(self, detail: str, commit: str) -> None:
        super().__init__(detail, headers=_hf_headers("EntryNotFound", detail, commit))


class TokenRefused(Unauthorized):
    """401 as the Hub answers it: no token reads as a missing repository (the client says to authenticate); an
    unknown token is named as invalid credentials."""

    def __init__(self, detail: str, *, token_sent: bool) -> None:
        super().__init__(detail)
        if token_sent:
            self.headers["X-Error-Message"] = "Invalid credentials in Authorization header"
        else:
            message = "a patchhub token is required: set HF_TOKEN (or pass token=) to a patchhub API token"
            self.headers.update({"X-Error-Code": "RepoNotFound", "X-Error-Message": message})


class WritesRefused(PatchhubError):
    status_code = 405
    error = "method_not_allowed"

    def __init__(self) -> None:
        super().__init__(PUSH_INSTEAD, headers={"Allow": "GET, HEAD", "X-Error-Message": PUSH_INSTEAD})
