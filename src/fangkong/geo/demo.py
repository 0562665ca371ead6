"""The demo's places: the city, its first district, and the first nodes inside it."""

from .models import Jurisdiction, Level


def demo_nodes() -> dict[str, Jurisdiction]:
    """The city, its first district, and the first street, community and grid inside it."""
    city = Jurisdiction.objects.filter(level=Level.CITY).order_by("path").first()
    district = Jurisdiction.objects.filter(level=Level.DISTRICT).order_by("path").first()
    if city is None or district is None:
        raise RuntimeError("the jurisdiction tree has no city or no district")
    nodes = {Level.CITY: city, Level.DISTRICT: district}
    for level in (Level.STREET, Level.COMMUNITY, Level.GRID):
        nodes[level] = (
            Jurisdiction.objects.filter(level=level, path__startswith=district.path)
            .order_by("path")
            .first()
        )
    return nodes
