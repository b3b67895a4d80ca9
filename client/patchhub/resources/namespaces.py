from __future__ import annotations

import builtins

from patchhub.errors import ConflictError
from patchhub.resources._base import Resource
from patchhub.types import Namespace


class Namespaces(Resource):
    """Namespaces own models; creating one needs an admin token that is not scoped to a namespace."""

    def create(self, name: str, description: str = "", *, exist_ok: bool = False) -> Namespace:
        """Create a namespace; with ``exist_ok=True`` an existing one of that name is returned as it is."""
        body = {"name": name, "description": description}
        try:
            return Namespace.from_json(self._transport.request_json("POST", "/v1/namespaces", json=body))
        except ConflictError as exc:
            if not exist_ok:
                exc.hint = "pass exist_ok=True (CLI: --exist-ok) to use the existing one"
                raise
            for namespace in self.list():
                if namespace.name == name:
                    return namespace
            raise

    def list(self) -> builtins.list[Namespace]:
        """The namespaces this token can see (all of them for a global token)."""
        return [Namespace.from_json(n) for n in self._transport.request_json("GET", "/v1/namespaces")]
