"""Deterministic synthetic outlines (GeoJSON polygons) for a tree that has none, so the HQ map has
shapes to draw without online tiles.

The city's box is cut into a lattice of quadrilaterals, one per district, and each district's quad
into a finer lattice, one per street, and so on down to communities. Interior lattice points are
jittered by a hash of the node code, so shapes look hand-drawn yet neighbours share their edges
exactly (each edge point is computed once, from the same parent quad) and the same tree always
gets the same map. Real outlines imported into ``Jurisdiction.outline`` are never overwritten
unless asked.
"""

from __future__ import annotations

import hashlib
import math

from django.db import transaction

from fangkong.geo.models import Jurisdiction, Level

# A box around Nanjing (lon, lat): west, south, east, north.
CITY_BOX = (118.45, 31.65, 119.15, 32.35)
LEVELS = (Level.CITY, Level.DISTRICT, Level.STREET, Level.COMMUNITY)
JITTER = 0.28  # of a lattice step, for interior points only


def _unit(key: str) -> float:
    """A number in [-1, 1) fixed by the key."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1


def _bilinear(quad, u: float, v: float) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad  # sw, se, ne, nw
    x = (1 - u) * (1 - v) * x0 + u * (1 - v) * x1 + u * v * x2 + (1 - u) * v * x3
    y = (1 - u) * (1 - v) * y0 + u * (1 - v) * y1 + u * v * y2 + (1 - u) * v * y3
    return round(x, 5), round(y, 5)


def _split(quad, count: int, key: str) -> list[list[tuple[float, float]]]:
    """`count` quads tiling `quad`, row by row from the south-west, as corner lists."""
    cols = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / cols))

    def point(i: int, j: int) -> tuple[float, float]:
        u, v = i / cols, j / rows
        if 0 < i < cols and 0 < j < rows:
            u += JITTER / cols * _unit(f"{key}:{i}:{j}:u")
            v += JITTER / rows * _unit(f"{key}:{i}:{j}:v")
        return _bilinear(quad, u, v)

    cells = []
    for n in range(count):
        i, j = n % cols, n // cols
        if n == count - 1 and i < cols - 1:
            # The last cell of a short top row reaches the east edge; its southern edge keeps
            # every lattice point of the row below, so the neighbours still share it exactly.
            south = [point(k, j) for k in range(i, cols + 1)]
            cells.append([*south, point(cols, j + 1), point(i, j + 1)])
        else:
            cells.append([point(i, j), point(i + 1, j), point(i + 1, j + 1), point(i, j + 1)])
    return cells


def _polygon(corners) -> dict:
    ring = [list(p) for p in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _quad_of(outline: dict):
    ring = outline["coordinates"][0][:-1]
    if len(ring) == 4:
        return ring
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]


def outlines_generate(*, overwrite: bool = False) -> int:
    """Give every city, district, street and community an outline; returns how many were set.
    Reads the tree once and writes with one bulk update."""
    nodes = list(
        Jurisdiction.objects.filter(level__in=LEVELS).only(
            "id", "code", "parent_id", "level", "outline", "path"
        )
    )
    if not overwrite and nodes and all(n.outline for n in nodes):
        return 0
    children: dict[int | None, list[Jurisdiction]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    for kids in children.values():
        kids.sort(key=lambda n: n.path)
    changed: list[Jurisdiction] = []
    cities = [n for n in nodes if n.level == Level.CITY]
    w, s, e, n = CITY_BOX
    for index, city in enumerate(sorted(cities, key=lambda c: c.path)):
        # A second city sits east of the first.
        shift = index * (e - w) * 1.1
        box = [(w + shift, s), (e + shift, s), (e + shift, n), (w + shift, n)]
        if overwrite or not city.outline:
            city.outline = _polygon(box)
            changed.append(city)
        stack = [(city, _quad_of(city.outline))]
        while stack:
            parent, quad = stack.pop()
            kids = children.get(parent.pk, [])
            if not kids:
                continue
            for kid, corners in zip(kids, _split(quad, len(kids), parent.code), strict=True):
                if overwrite or not kid.outline:
                    kid.outline = _polygon(corners)
                    changed.append(kid)
                stack.append((kid, _quad_of(kid.outline)))
    with transaction.atomic():
        Jurisdiction.objects.bulk_update(changed, ["outline"], batch_size=500)
    return len(changed)
