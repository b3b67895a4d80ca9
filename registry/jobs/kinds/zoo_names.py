"""Names of the model zoo's architectures (workers/models/zoo.py), so submissions are checked without the
registry importing the workers' ML code; a test keeps the two lists equal."""

ZOO_NAMES = (
    "emov2_1m", "emov2_20m", "emov2_2m", "emov2_5m", "inverted_residual", "resnet18", "resnet20", "resnet32",
    "resnet56", "uva", "vgg16",
)  # fmt: skip
