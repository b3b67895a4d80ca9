"""Who is calling, and the one place that decides what they may do."""

from __future__ import annotations

from dataclasses import dataclass

from registry.errors import Forbidden, NotFound
from registry.models import Namespace, Role


@dataclass(frozen=True)
class Principal:
    token_id: int
    token_name: str
    role: Role
    namespace_id: int | None  # None: the token acts on every namespace

    @property
    def is_global(self) -> bool:
        return self.namespace_id is None

    def can_read(self, namespace: Namespace) -> bool:
        return self.is_global or self.namespace_id == namespace.id

    def require(self, role: Role, namespace: Namespace | None = None, *, hidden_as: str | None = None) -> None:
        """Raise Forbidden unless this token has ``role`` on ``namespace`` (None: on the whole service).

        What a token cannot read does not exist for it: a namespace outside its scope answers 404 with the
        very message a missing object gets (``hidden_as`` names that object, as its lookup would), so the
        answer tells nothing about what is stored there.
        """
        if namespace is not None and not self.can_read(namespace):
            raise NotFound(f"{hidden_as or f'namespace {namespace.name!r}'} does not exist")
        if self.role.rank < role.rank:
            where = f" on namespace {namespace.name}" if namespace is not None else ""
            raise Forbidden(f"this token has {self.role.value} access; {role.value} access is needed{where}")
        if namespace is None and not self.is_global:
            raise Forbidden("this operation needs a token that is not scoped to one namespace")
