"""The supplies app's REST routes, for the lead to register on the project router."""

from .api import (
    CoverViewSet,
    EnterpriseViewSet,
    ItemViewSet,
    MovementViewSet,
    OutputViewSet,
    RequestViewSet,
    WarehouseViewSet,
)

ROUTES = [
    ("supplies/items", ItemViewSet, "supplies-item"),
    ("supplies/warehouses", WarehouseViewSet, "supplies-warehouse"),
    ("supplies/movements", MovementViewSet, "supplies-movement"),
    ("supplies/cover", CoverViewSet, "supplies-cover"),
    ("supplies/enterprises", EnterpriseViewSet, "supplies-enterprise"),
    ("supplies/outputs", OutputViewSet, "supplies-output"),
    ("supplies/requests", RequestViewSet, "supplies-request"),
]
