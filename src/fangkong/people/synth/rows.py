"""Rows: Arrow tables built column-wise, so formatting a million people is a few vector passes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.people.idnumber import CHECK_CHARS, WEIGHTS
from fangkong.people.models import DocumentType

from .planning import City
from .reference import FEMALE_CHARS, MALE_CHARS, SURNAME_NAMES


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _take(values: list[str], index: np.ndarray) -> pa.Array:
    return pc.take(pa.array(values, pa.string()), pa.array(index))


def _constant(value, n: int) -> pa.Array:
    return pc.take(pa.array([value]), pa.array(np.zeros(n, dtype=np.int64)))


def node_table(city: City, first_id: int) -> pa.Table:
    nodes = city.nodes
    return pa.table(
        {
            "id": np.arange(first_id, first_id + len(nodes)),
            "code": [x.code for x in nodes],
            "parent_id": pa.array(
                [None if x.parent is None else first_id + x.parent for x in nodes], pa.int64()
            ),
            "level": [str(x.level) for x in nodes],
            "name": [x.name for x in nodes],
            "name_en": [x.name_en for x in nodes],
            "population": [x.population for x in nodes],
            "outline": pa.nulls(len(nodes), pa.string()),
            "path": [x.path for x in nodes],
            "depth": [x.depth for x in nodes],
        }
    )


def _building_codes(city: City) -> pa.Array:
    grid = city.building_grid
    first_of_grid = np.searchsorted(grid, grid)
    grid_codes = [city.nodes[i].code for i in city.grid_nodes]
    number = pc.utf8_lpad(_text(np.arange(len(grid)) - first_of_grid + 1), 3, "0")
    return _join(_take(grid_codes, grid), "B", number)


def building_table(city: City, first_id: int, grid_first_id: np.ndarray) -> pa.Table:
    grid_address = [city.nodes[i].address for i in city.grid_nodes]
    name = pa.array(city.building_name, pa.string())
    return pa.table(
        {
            "id": np.arange(first_id, first_id + len(city.building_grid)),
            "grid_id": grid_first_id[city.building_grid],
            "code": _building_codes(city),
            "name": name,
            "address": _join(_take(grid_address, city.building_grid), name),
        }
    )


def household_table(
    city: City, first_id: int, building_first_id: int, grid_first_id: np.ndarray
) -> pa.Table:
    b = city.household_building
    slot = city.household_slot
    per_unit = np.maximum(city.building_floors[b] * 2, 1)
    unit, in_unit = np.divmod(slot, per_unit)
    flat = (in_unit // 2 + 1) * 100 + in_unit % 2 + 1
    rural = pa.array(city.grid_rural[city.household_grid])
    room = pc.if_else(
        rural, _join(_text(slot + 1), "号"), _join(_text(unit + 1), "单元", _text(flat))
    )
    building_address = _join(
        _take([city.nodes[i].address for i in city.grid_nodes], city.building_grid),
        pa.array(city.building_name, pa.string()),
    )
    return pa.table(
        {
            "id": np.arange(first_id, first_id + len(b)),
            "building_id": building_first_id + b,
            "grid_id": grid_first_id[city.household_grid],
            "code": _join(
                pc.take(_building_codes(city), pa.array(b)),
                "-",
                pc.utf8_lpad(_text(slot + 1), 4, "0"),
            ),
            "room": room,
            "address": _join(
                pc.take(building_address, pa.array(b)), room, pc.if_else(rural, "", "室")
            ),
        }
    )


def document_numbers(city: City, rows: slice) -> pa.Array:
    """GB 11643 numbers: district code, birth date, sequence, and the check character."""
    births = city.birth_days[rows].astype("datetime64[D]")
    year = births.astype("datetime64[Y]").astype(np.int64) + 1970
    month = births.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (births - births.astype("datetime64[M]")).astype(np.int64) + 1
    district = city.district_codes[
        city.grid_district[city.household_grid[city.person_household[rows]]]
    ]
    first17 = (
        district * 10**11 + (year * 10_000 + month * 100 + day) * 1000 + city.id_sequence[rows]
    )
    total = np.zeros(len(first17), dtype=np.int64)
    rest = first17.copy()
    for weight in reversed(WEIGHTS):
        rest, digit = np.divmod(rest, 10)
        total += digit * weight
    return _join(_text(first17), _take(list(CHECK_CHARS), total % 11))


def person_table(
    city: City,
    rows: slice,
    first_id: int,
    household_first_id: int,
    grid_first_id: np.ndarray,
    grid_paths: pa.Array,
    household_address: pa.Array,
    stamp,
) -> pa.Table:
    household = city.person_household[rows]
    grid = city.household_grid[household]
    male = city.male[rows]
    n = len(household)
    chars = MALE_CHARS + FEMALE_CHARS + [""]
    female_shift = np.where(male, 0, len(MALE_CHARS))
    given2 = np.where(city.given2[rows] < 0, len(chars) - 1, city.given2[rows] + female_shift)
    return pa.table(
        {
            "id": np.arange(first_id + rows.start, first_id + rows.start + n),
            "document_type": _constant(DocumentType.RESIDENT_ID.value, n),
            "document_number": document_numbers(city, rows),
            "name": _join(
                _take(SURNAME_NAMES, city.surname[rows]),
                _take(chars, city.given1[rows] + female_shift),
                _take(chars, given2),
            ),
            "sex": _take(["F", "M"], male.astype(np.int64)),
            "birth_date": pc.cast(
                pa.array(city.birth_days[rows].astype(np.int32), pa.date32()), pa.string()
            ),
            "phone": _text(city.phone[rows]),
            "grid_id": grid_first_id[grid],
            "jpath": pc.take(grid_paths, pa.array(grid)),
            "household_id": household_first_id + household,
            "address": pc.take(household_address, pa.array(household)),
            "tags": city.tags[rows],
            "created_at": _constant(stamp, n),
            "updated_at": _constant(stamp, n),
        }
    )
