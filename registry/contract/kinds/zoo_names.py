"""Names of the model zoo's architectures (workers/models/zoo.py), so submissions are checked without the
registry importing the workers' ML code. Every params model takes its architectures from here, and
tests/workers/models/test_zoo_names.py keeps each list equal to what the zoo (and LAPP) can build."""

ZOO_NAMES = (
    "emov2_1m", "emov2_20m", "emov2_2m", "emov2_5m", "inverted_residual", "resnet18", "resnet20", "resnet32",
    "resnet56", "uva", "vgg16",
)  # fmt: skip
EMOV2_NAMES = ("emov2_1m", "emov2_2m", "emov2_5m", "emov2_20m")  # the EMOv2 family, smallest first
LAPP_NAMES = ("resnet20", "resnet32", "resnet56", "resnet18")  # the ResNets of basic blocks LAPP prunes
UVA_NAMES = ("uva",)
