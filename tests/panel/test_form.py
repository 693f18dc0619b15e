from __future__ import annotations

from shotbridge.panel.form import coerce, fields_from_schema, validate
from shotbridge_backend.operations import CATALOGUE


def test_fields_from_real_operation_schemas():
    fields = {f.name: f for f in fields_from_schema(CATALOGUE["detect_shots"].params.model_json_schema())}
    assert fields["media"].kind == "asset" and fields["media"].required and fields["media"].from_selection
    t = fields["threshold"]
    assert (t.kind, t.minimum, t.maximum, t.default, t.required) == ("number", 1.0, 100.0, 27.0, False)
    consistency = {f.name: f for f in fields_from_schema(CATALOGUE["check_consistency"].params.model_json_schema())}
    assert consistency["timeline"].kind == "timeline" and consistency["media"].kind == "assets"
    assert consistency["threshold"].kind == "number"  # Optional[float] still a number field
    assert consistency["shots"].kind == "list"


def test_enums_and_validation_messages():
    schema = {"properties": {"mode": {"enum": ["fast", "best"], "default": "fast"},
                             "count": {"type": "integer", "minimum": 1, "maximum": 10},
                             "name": {"type": "string"}}, "required": ["name"]}
    fields = fields_from_schema(schema)
    assert fields[0].kind == "enum" and fields[0].choices == ["fast", "best"]
    params, errors = validate(fields, {"mode": "slow", "count": "12"})
    assert errors == {"mode": "Mode must be one of fast, best", "count": "Count must be at most 10",
                      "name": "Name is required"}
    params, errors = validate(fields, {"mode": "best", "count": "3", "name": "x"})
    assert params == {"mode": "best", "count": 3, "name": "x"} and not errors
    assert coerce(fields[1], "abc")[1] == "Count must be an integer"
