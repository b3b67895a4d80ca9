"""The submission form generated from a kind's schema, read back into the params the API validates."""

from __future__ import annotations

import pytest

from registry.contract.kinds import JOB_KINDS
from registry.errors import Invalid
from registry.jobs.service import validate_params
from registry.ui.job_forms import form_fields, problems_by_field, read_params


def test_train_form_has_every_param_required_ones_first_with_choices() -> None:
    schema = JOB_KINDS["train"].params.model_json_schema()
    fields = form_fields(schema)
    assert {f.name for f in fields} == set(schema["properties"])
    assert [f.name for f in fields if f.required] == ["output_model", "arch"]
    assert fields[0].name == "output_model" and fields[1].name == "arch"
    by_name = {f.name: f for f in fields}
    assert by_name["device"].widget == "select" and by_name["device"].options == ("cpu", "gpu", "auto")
    assert by_name["optimizer"].options == ("sgd", "adamw") and by_name["optimizer"].default == "sgd"
    assert by_name["epochs"].widget == "number" and by_name["epochs"].hint == "≥ 1, ≤ 1000"
    assert by_name["arch_config"].widget == "json" and by_name["milestones"].widget == "list"
    assert by_name["init"].widget == "text" and by_name["init"].default == ""  # optional: anyOf [string, null]


def test_submitted_values_become_params_the_api_accepts() -> None:
    fields = form_fields(JOB_KINDS["train"].params.model_json_schema())
    form = {
        "param.output_model": "team/net",
        "param.arch": "resnet20",
        "param.epochs": "3",
        "param.lr": "0.1",
        "param.arch_config": '{"num_classes": 10}',
        "param.milestones": "2, 4",
        "param.schedule": "step",
        "param.init": "",  # empty: the default applies
    }
    params = read_params(fields, form)
    assert "init" not in params
    validated = validate_params("train", params)
    assert (validated.epochs, validated.lr, validated.milestones) == (3, 0.1, [2, 4])  # type: ignore[attr-defined]
    assert validated.arch_config == {"num_classes": 10}  # type: ignore[attr-defined]


def test_invalid_json_and_api_messages_are_reported_per_field() -> None:
    fields = form_fields(JOB_KINDS["train"].params.model_json_schema())
    with pytest.raises(Invalid, match=r"params\.arch_config: must be a JSON object"):
        read_params(fields, {"param.arch_config": "{not json"})
    with pytest.raises(Invalid) as caught:
        validate_params("train", read_params(fields, {"param.epochs": "0", "param.lr": "fast"}))
    problems = problems_by_field(caught.value.detail)
    assert problems["epochs"] == "Input should be greater than or equal to 1"
    assert problems["lr"].startswith("Input should be a valid number")
    assert problems["output_model"] == "Field required"
