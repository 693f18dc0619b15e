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
    assert [f.name for f in fields] == ["name", "mode", "count"]  # required first, then the schema's order
    fields = [fields[1], fields[2], fields[0]]
    assert fields[0].kind == "enum" and fields[0].choices == ["fast", "best"]
    params, errors = validate(fields, {"mode": "slow", "count": "12"})
    assert errors == {"mode": "Mode must be one of fast, best", "count": "Count must be at most 10",
                      "name": "Name is required"}
    params, errors = validate(fields, {"mode": "best", "count": "3", "name": "x"})
    assert params == {"mode": "best", "count": 3, "name": "x"} and not errors
    assert coerce(fields[1], "abc")[1] == "Count must be an integer"


def test_generative_forms_pick_masks_from_disk_and_take_provider_options_as_json(tmp_path):
    fields = {f.name: f for f in fields_from_schema(CATALOGUE["inpaint"].params.model_json_schema())}
    assert fields["timeline"].kind == "timeline" and fields["media"].kind == "assets"
    mask = fields["mask"]
    assert (mask.kind, mask.required, mask.from_selection) == ("file", True, False)  # not the selected plate
    assert coerce(mask, str(tmp_path / "none.png"))[1].startswith("Mask: no file at")
    (tmp_path / "mask.png").write_bytes(b"png")
    assert coerce(mask, str(tmp_path / "mask.png")) == (str(tmp_path / "mask.png"), None)
    options = fields["options"]
    assert options.kind == "object"
    assert coerce(options, '{"quality": "high"}') == ({"quality": "high"}, None)
    assert "JSON object" in coerce(options, "[1, 2]")[1] and "JSON object" in coerce(options, "{oops")[1]
    image = {f.name: f for f in fields_from_schema(CATALOGUE["generate_image"].params.model_json_schema())}
    assert image["reference"].kind == "file" and not image["reference"].required
    assert image["seed"].kind == "integer" and image["prompt"].required
