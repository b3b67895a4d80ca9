"""Versions as the Hub shows history: each version a commit (newest first), ``main`` the branch at the latest
version, each alias a tag; a composition is one more commit on top of its base's history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from registry.domain.artifacts import LATEST
from registry.models import Artifact, Model
from registry.resources.artifacts.service import model_aliases
from registry.resources.hf.schemas import Commit, CommitAuthor, GitRef, GitRefs
from registry.resources.hf.snapshots import Snapshot, version_sha


def refs(session: Session, model: Model) -> GitRefs:
    branches, tags = [], []
    for alias, artifact in model_aliases(session, model):
        if alias == LATEST:
            branches.append(GitRef(name="main", ref="refs/heads/main", targetCommit=version_sha(artifact)))
        else:
            tags.append(GitRef(name=alias, ref=f"refs/tags/{alias}", targetCommit=version_sha(artifact)))
    return GitRefs(branches=branches, converts=[], tags=tags, pullRequests=[])


def commits(session: Session, snapshot: Snapshot) -> list[Commit]:
    """The history that leads to the snapshot: its composition if it is one, then every version up to its own."""
    versions = session.scalars(
        select(Artifact)
        .options(load_only(Artifact.id, Artifact.version, Artifact.kind, Artifact.created_at, Artifact.created_by))
        .where(Artifact.model_id == snapshot.model.id, Artifact.version <= snapshot.version.version)
        .order_by(Artifact.version.desc())
    )
    history = [
        Commit(
            id=version_sha(artifact),
            authors=[CommitAuthor(user=artifact.created_by or "patchhub")],
            date=artifact.created_at,
            title=f"v{artifact.version} ({artifact.kind.value})",
            message="",
        )
        for artifact in versions
    ]
    composition = snapshot.composition
    if composition is not None:
        patches = ", ".join(f"{p['artifact']} x {p['scale']}" for p in composition.patches)
        history.insert(
            0,
            Commit(
                id=snapshot.sha,
                authors=[CommitAuthor(user=composition.created_by or "patchhub")],
                date=composition.created_at,
                title=f"composition {composition.id[:12]} on v{snapshot.version.version}",
                message=f"base {composition.base_id} + {patches}" if patches else f"base {composition.base_id}",
            ),
        )
    return history
