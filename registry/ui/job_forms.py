"""The job submission form, generated from a kind's JSON schema (the one GET /v1/job-kinds serves), and the
reading of a submitted form back into params. Values are passed on as typed text where the schema allows, so
the API's own validation decides and its messages are the ones shown."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.errors import Invalid

FIELD_PREFIX = "param."
_PROBLEM = re.compile(r"^params\.([A-Za-z0-9_]+)(?:\.[^:]*)?: (.*)$")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    widget: str  # "text", "number", "select", "json", "list"
    required: bool
    default: str  # shown as the placeholder: an empty field means "the default"
    description: str
    options: tuple[str, ...] = ()
    hint: str = ""

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name


def _resolve(schema: Mapping[str, Any], prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a ``$ref`` into ``$defs`` and unwrap ``anyOf [X, null]`` (an optional field)."""
    if "$ref" in prop:
        target = schema.get("$defs", {}).get(str(prop["$ref"]).rsplit("/", 1)[-1], {})
        prop = {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        if len(options) == 1:
            prop = {**_resolve(schema, options[0]), **{k: v for k, v in prop.items() if k != "anyOf"}}
    return prop


def _hint(prop: Mapping[str, Any]) -> str:
    bounds = [
        f"{label} {prop[key]}"
        for key, label in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
        if key in prop
    ]
    return ", ".join(bounds)


def _default_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value) if isinstance(value, dict) else ", ".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def form_fields(schema: Mapping[str, Any]) -> list[FormField]:
    required = set(schema.get("required", []))
    fields = []
    for name, raw in schema.get("properties", {}).items():
        prop = _resolve(schema, raw)
        kind = prop.get("type")
        if "enum" in prop:
            widget, options = "select", tuple(str(v) for v in prop["enum"])
        elif kind == "boolean":
            widget, options = "select", ("true", "false")
        elif kind in ("integer", "number"):
            widget, options = "number", ()
        elif kind == "object":
            widget, options = "json", ()
        elif kind == "array":
            widget, options = "list", ()
        else:
            widget, options = "text", ()
        fields.append(
            FormField(
                name=name,
                label=str(prop.get("title") or name.replace("_", " ")),
                widget=widget,
                required=name in required,
                default=_default_text(prop.get("default")),
                description=str(prop.get("description", "")),
                options=options,
                hint=_hint(prop),
            )
        )
    # Required fields first, in schema order; then the rest.
    return [f for f in fields if f.required] + [f for f in fields if not f.required]


def read_params(fields: list[FormField], form: Mapping[str, Any]) -> dict[str, Any]:
    """The params a submitted form asks for. An empty field is left out (its default applies)."""
    params: dict[str, Any] = {}
    for field in fields:
        value = form.get(field.input_name)
        if not isinstance(value, str) or not value.strip():
            continue
        text = value.strip()
        if field.widget == "json":
            try:
                params[field.name] = json.loads(text)
            except json.JSONDecodeError:
                raise Invalid(f'params.{field.name}: must be a JSON object, e.g. {{"num_classes": 10}}') from None
        elif field.widget == "list":
            params[field.name] = [item.strip() for item in text.split(",") if item.strip()]
        else:
            params[field.name] = text
    return params


def problems_by_field(detail: str) -> dict[str, str]:
    """The API's ``params.<field>: message; ...`` sentence split per field, for messages beside each input."""
    found: dict[str, str] = {}
    for part in detail.split("; "):
        match = _PROBLEM.match(part)
        if match:
            found.setdefault(match.group(1), match.group(2))
    return found
