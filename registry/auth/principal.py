"""Who is calling, and the one place that decides what they may do."""

from __future__ import annotations

from dataclasses import dataclass

from registry.errors import Forbidden
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

    def require(self, role: Role, namespace: Namespace | None = None) -> None:
        """Raise Forbidden unless this token has ``role`` on ``namespace`` (None: on the whole service)."""
        if self.role.rank < role.rank:
            raise Forbidden(f"this token has {self.role.value} access; {role.value} access is needed")
        if namespace is None:
            if not self.is_global:
                raise Forbidden("this operation needs a token that is not scoped to one namespace")
        elif not self.is_global and self.namespace_id != namespace.id:
            raise Forbidden(f"this token is not scoped to namespace {namespace.name!r}")
