"""Classifier training and evaluation, shared by the train, evaluate and train_emov2 jobs."""

from workers.training.config import TrainConfig, TrainingCancelled, TrainResult
from workers.training.evaluate import evaluate_classifier
from workers.training.train import train_classifier

__all__ = ["TrainConfig", "TrainResult", "TrainingCancelled", "evaluate_classifier", "train_classifier"]
