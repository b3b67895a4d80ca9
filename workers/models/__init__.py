"""Model zoo. Importing this package registers every architecture family."""

from workers.models.zoo import available_models, config_to_json, create_model, model_config, register_model

__all__ = ["available_models", "config_to_json", "create_model", "model_config", "register_model"]
