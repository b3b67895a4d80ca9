from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from patchhub.errors import ConflictError
from patchhub.refs import split_model_id
from patchhub.resources._base import Resource, segment
from patchhub.types import Model


def model_path(model: str) -> str:
    """``"ns/name"`` -> ``/v1/models/ns/name``."""
    namespace, name = split_model_id(model)
    return f"/v1/models/{segment(namespace)}/{segment(name)}"


class Models(Resource):
    def create(
        self,
        model: str,
        *,
        arch: str,
        arch_config: dict[str, Any] | None = None,
        description: str = "",
        tags: list[str] | None = None,
        exist_ok: bool = False,
    ) -> Model:
        """Create ``"namespace/name"`` with its architecture (a model-zoo name and its config).

        With ``exist_ok=True`` an existing model of the same architecture is returned as it is (its
        description and tags are not changed); one with another architecture is still a ``ConflictError``.
        """
        namespace, name = split_model_id(model)
        body = {
            "namespace": namespace,
            "name": name,
            "arch": arch,
            "arch_config": arch_config or {},
            "description": description,
            "tags": tags or [],
        }
        try:
            return Model.from_json(self._transport.request_json("POST", "/v1/models", json=body))
        except ConflictError as exc:
            if not exist_ok:
                exc.hint = f"pass exist_ok=True (CLI: --exist-ok) to use the existing {model}"
                raise
            existing = self.get(model)
            if existing.arch != arch or (arch_config is not None and existing.arch_config != arch_config):
                exc.hint = (
                    f"{model} exists with arch {existing.arch} {existing.arch_config}, not {arch} {arch_config or {}}"
                )
                raise
            return existing

    def get(self, model: str) -> Model:
        return Model.from_json(self._transport.request_json("GET", model_path(model)))

    def list(
        self,
        *,
        namespace: str | None = None,
        arch: str | None = None,
        query: str | None = None,
        tag: str | None = None,
        page_size: int = 50,
    ) -> Iterator[Model]:
        """Models visible to this token, filtered; pages are fetched as the iterator advances."""
        params = {"namespace": namespace, "arch": arch, "q": query, "tag": tag, "page_size": page_size}
        for item in self._pages("/v1/models", params):
            yield Model.from_json(item)

    def delete(self, model: str) -> None:
        """Soft-delete a model (admin): it disappears from listings and its artifacts from reads."""
        self._transport.request("DELETE", model_path(model))
