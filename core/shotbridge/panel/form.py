"""Forms generated from an operation's parameter JSON Schema: fields, choices, ranges, and validation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FormField:
    name: str
    title: str
    kind: str  # string | integer | number | boolean | enum | asset | assets | timeline | file | list | object
    required: bool
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: list[Any] = field(default_factory=list)
    description: str = ""

    @property
    def from_selection(self) -> bool:
        """Filled from the host's selection rather than typed in."""
        return self.kind in ("asset", "assets", "timeline")


def _resolve(prop: dict, defs: dict) -> dict:
    if "$ref" in prop:
        return {**defs.get(prop["$ref"].split("/")[-1], {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    options = [p for p in prop.get("anyOf", []) if p.get("type") != "null"]
    if len(options) == 1:  # Optional[X]
        return {**options[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    return prop


def fields_from_schema(schema: dict) -> list[FormField]:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    out = []
    for name, raw in schema.get("properties", {}).items():
        prop = _resolve(raw, defs)
        kind = prop.get("type", "string")
        if "enum" in prop:
            kind = "enum"
        elif prop.get("format") == "asset":
            kind = ("file" if prop.get("x-shotbridge-pick") == "file" else
                    "timeline" if prop.get("contentMediaType") else "asset")
        elif kind == "array":
            item = _resolve(prop.get("items", {}), defs)
            kind = "assets" if item.get("format") == "asset" else "list"
        out.append(FormField(
            name=name, title=prop.get("title") or name.replace("_", " ").capitalize(), kind=kind,
            required=name in required, default=prop.get("default"),
            minimum=prop.get("minimum", prop.get("exclusiveMinimum")),
            maximum=prop.get("maximum", prop.get("exclusiveMaximum")),
            choices=list(prop.get("enum", [])), description=prop.get("description", "")))
    # What the artist must give comes first (the selection, then required fields); the rest keep their order.
    return sorted(out, key=lambda f: (not f.from_selection, not f.required))


def coerce(f: FormField, value: Any) -> tuple[Any, str | None]:
    """A typed value from what the user entered, or an error message that names the field."""
    if value is None or value == "":
        if f.required and not f.from_selection:
            return None, f"{f.title} is required"
        return None, None
    try:
        if f.kind == "integer":
            value = int(value)
        elif f.kind == "number":
            value = float(value)
        elif f.kind == "boolean":
            value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        elif f.kind == "list" and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()] if not value.startswith("[") else json.loads(value)
        elif f.kind == "object" and isinstance(value, str):
            value = json.loads(value)
            if not isinstance(value, dict):
                return None, f'{f.title} must be a JSON object, e.g. {{"quality": "high"}}'
        elif f.kind == "file":
            from pathlib import Path

            if not Path(str(value)).expanduser().is_file():
                return None, f"{f.title}: no file at {value}"
            value = str(Path(str(value)).expanduser())
    except (TypeError, ValueError):
        if f.kind == "object":
            return None, f'{f.title} must be a JSON object, e.g. {{"quality": "high"}}'
        return None, f"{f.title} must be a{'n integer' if f.kind == 'integer' else ' number'}"
    if f.kind == "enum" and value not in f.choices:
        return None, f"{f.title} must be one of {', '.join(map(str, f.choices))}"
    if f.kind in ("integer", "number"):
        if f.minimum is not None and value < f.minimum:
            return None, f"{f.title} must be at least {f.minimum:g}"
        if f.maximum is not None and value > f.maximum:
            return None, f"{f.title} must be at most {f.maximum:g}"
    return value, None


def validate(fields: list[FormField], values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(params to send, errors by field name); defaults are left to the backend."""
    params, errors = {}, {}
    for f in fields:
        if f.from_selection:
            continue
        value, error = coerce(f, values.get(f.name))
        if error:
            errors[f.name] = error
        elif value is not None:
            params[f.name] = value
    return params, errors
