"""The registry checks architecture names without importing the zoo (registry/contract/kinds/zoo_names.py):
these tests keep what every job kind accepts equal to what the workers can build."""

from __future__ import annotations

import dataclasses

from pydantic import ValidationError

from registry.contract.kinds import JOB_KINDS, JobParams
from registry.contract.kinds.zoo_names import EMOV2_NAMES, LAPP_NAMES, UVA_NAMES, ZOO_CONFIG_FIELDS, ZOO_NAMES
from workers.lapp.prunable import block_paths
from workers.models.emov2 import EMOv2Config
from workers.models.uva import UVAConfig
from workers.models.zoo import available_models, create_model, model_config

NOT_IN_THE_ZOO = "resnet21"


def test_the_registry_knows_every_zoo_architecture() -> None:
    assert list(ZOO_NAMES) == available_models()


def test_the_registry_knows_every_architectures_config_fields() -> None:
    fields = {name: frozenset(f.name for f in dataclasses.fields(model_config(name))) for name in available_models()}
    assert fields == ZOO_CONFIG_FIELDS


def accepted_architectures(params: type[JobParams]) -> set[str]:
    """The names (of the zoo's, and one the zoo lacks) that the kind's ``arch`` field accepts."""
    required = {name: "lab/x" for name, field in params.model_fields.items() if field.is_required()}
    accepted = set()
    for arch in [*available_models(), NOT_IN_THE_ZOO]:
        try:
            params.model_validate({**required, "arch": arch})
        except ValidationError as exc:
            assert all(error["loc"] == ("arch",) for error in exc.errors()), exc
        else:
            accepted.add(arch)
    return accepted


def test_every_architecture_a_job_kind_accepts_is_in_the_zoo() -> None:
    kinds_with_arch = {kind: spec.params for kind, spec in JOB_KINDS.items() if "arch" in spec.params.model_fields}
    assert set(kinds_with_arch) == {"train", "train_emov2", "lapp_prune", "train_uva"}
    accepted = {kind: accepted_architectures(params) for kind, params in kinds_with_arch.items()}
    assert accepted == {
        "train": set(ZOO_NAMES),
        "train_emov2": set(EMOV2_NAMES),
        "lapp_prune": set(LAPP_NAMES),
        "train_uva": set(UVA_NAMES),
    }
    assert all(names <= set(available_models()) for names in accepted.values())


def test_each_family_a_job_kind_names_is_the_whole_family_in_the_zoo() -> None:
    zoo = available_models()
    assert set(EMOV2_NAMES) == {name for name in zoo if isinstance(model_config(name), EMOv2Config)}
    assert set(UVA_NAMES) == {name for name in zoo if isinstance(model_config(name), UVAConfig)}
    assert set(LAPP_NAMES) == {name for name in zoo if block_paths(create_model(name))}
