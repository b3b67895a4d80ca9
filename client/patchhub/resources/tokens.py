from __future__ import annotations

import builtins
from typing import Literal

from patchhub.resources._base import Resource
from patchhub.types import CreatedToken, Token, WhoAmI

Role = Literal["read", "write", "admin"]


class Tokens(Resource):
    """API tokens: a role (read < write < admin), scoped to one namespace or to all of them."""

    def create(self, name: str, role: Role, namespace: str | None = None) -> CreatedToken:
        """Issue a token; its secret is in the result and is shown only this once."""
        body = {"name": name, "role": role, "namespace": namespace}
        return CreatedToken.from_json(self._transport.request_json("POST", "/v1/tokens", json=body))

    def list(self) -> builtins.list[Token]:
        return [Token.from_json(t) for t in self._transport.request_json("GET", "/v1/tokens")]

    def revoke(self, token_id: int) -> Token:
        return Token.from_json(self._transport.request_json("DELETE", f"/v1/tokens/{int(token_id)}"))

    def whoami(self) -> WhoAmI:
        """The token the client is using: its name, role and namespace."""
        return WhoAmI.from_json(self._transport.request_json("GET", "/v1/whoami"))
