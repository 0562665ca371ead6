"""The checkpoints app's REST routes, for the project router."""

ROUTES: list = []
