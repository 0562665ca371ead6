"""The checkpoints app's REST routes, for the project router."""

from .api import ArrivalViewSet, CheckpointViewSet, TransferViewSet

ROUTES: list = [
    ("checkpoints/checkpoints", CheckpointViewSet, "checkpoint"),
    ("checkpoints/arrivals", ArrivalViewSet, "checkpoint-arrival"),
    ("checkpoints/transfers", TransferViewSet, "checkpoint-transfer"),
]
