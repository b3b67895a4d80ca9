from __future__ import annotations

import builtins

from patchhub.resources._base import Resource
from patchhub.types import Namespace


class Namespaces(Resource):
    """Namespaces own models; creating one needs an admin token that is not scoped to a namespace."""

    def create(self, name: str, description: str = "") -> Namespace:
        body = {"name": name, "description": description}
        return Namespace.from_json(self._transport.request_json("POST", "/v1/namespaces", json=body))

    def list(self) -> builtins.list[Namespace]:
        """The namespaces this token can see (all of them for a global token)."""
        return [Namespace.from_json(n) for n in self._transport.request_json("GET", "/v1/namespaces")]
