from registry.jobs.kinds.zoo_names import ZOO_NAMES
from workers.models.zoo import available_models


def test_the_registry_knows_every_zoo_architecture() -> None:
    assert list(ZOO_NAMES) == available_models()
