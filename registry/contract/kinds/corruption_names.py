"""Names of the image corruptions jobs accept."""

# The corruption suite (workers/rws/corruptions): 15 ImageNet-C / CIFAR-10-C types + 4 extras the RWS code uses.
# The registry validates names without importing the workers' code; a test keeps the two lists equal.
CORRUPTION_NAMES = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
    "speckle_noise", "gaussian_blur", "spatter", "saturate",
)  # fmt: skip
