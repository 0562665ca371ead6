"""The jurisdiction path ('/320000/320100/320102/'): the one place its shape is known.

A node's path is its ancestors' codes from the province down, each closed by '/'; the root of
the whole tree (what an operator or a superuser without a node sees) is '/'. Being in a subtree
is a prefix match, so every rule about "the same city" or "the nodes above" is a string rule
here and one index range scan in the database.
"""

from __future__ import annotations

ROOT = "/"


def codes(path: str) -> list[str]:
    """The codes on the path, from the top down ('/32/3201/' → ['32', '3201'])."""
    return [code for code in path.split("/") if code]


def join(parts: list[str]) -> str:
    return "/" + "".join(f"{code}/" for code in parts) if parts else ROOT


def depth(path: str) -> int:
    """How many levels below the root: '/' 0, a province 1, a city 2, a district 3."""
    return len(codes(path))


def prefix(path: str, level: int) -> str:
    """The ancestor `level` levels below the root ('/p/c/d/s/' at 2 → '/p/c/'), so "the same
    city" or "the same district" is one prefix match; a path above `level` is itself."""
    return join(codes(path)[:level])


def ancestors(path: str) -> list[str]:
    """The path and every node above it, from the top down (the root '/' not included)."""
    parts = codes(path)
    return [join(parts[:i]) for i in range(1, len(parts) + 1)]


def up(path: str, steps: int) -> str:
    """The path `steps` levels above `path`, never above the top node (a province)."""
    parts = codes(path)
    return join(parts[: max(1, len(parts) - steps)]) if parts else ROOT


def within(path: str, top: str | None) -> bool:
    """Whether `path` lies in the subtree `top` (itself included); None is no subtree at all."""
    return top is not None and path.startswith(top)


def overlaps(path: str, top: str | None) -> bool:
    """Whether `path` lies inside `top` or above it (a city round seen from one of its grids)."""
    return top is not None and (path.startswith(top) or top.startswith(path))
