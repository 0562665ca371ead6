"""The plan: everything decided in memory, numbers only where there are many rows."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
from django.utils import timezone

from fangkong.geo.models import Level
from fangkong.geo.services import child_path
from fangkong.people.models import Tag

from .reference import (
    AGE_BANDS,
    CITY,
    COMMUNITY_SUFFIXES,
    DAYS_PER_YEAR,
    DISTRICTS,
    ESTATE_SUFFIXES,
    FEMALE_CHARS,
    GUARDIAN_AGE,
    HOUSEHOLD_SIZES,
    MALE_CHARS,
    MALE_SHARE,
    PHONE_PREFIXES,
    PLACE_WORDS,
    PROVINCE,
    SURNAME_WEIGHTS,
    SURNAMES,
    VILLAGE_SUFFIXES,
    cn_number,
)


@dataclass
class Node:
    code: str
    level: str
    name: str
    parent: int | None
    path: str
    depth: int
    name_en: str = ""
    address: str = ""  # what a postal address says down to this node
    rural: bool = False
    population: int = 0


@dataclass
class City:
    nodes: list[Node]
    grid_nodes: np.ndarray  # node index of each grid, in grid order
    grid_rural: np.ndarray
    grid_district: np.ndarray  # district ordinal of each grid
    district_codes: np.ndarray  # int, per district ordinal
    building_grid: np.ndarray
    building_name: list[str]
    building_floors: np.ndarray
    household_building: np.ndarray
    household_slot: np.ndarray
    household_grid: np.ndarray
    household_size: np.ndarray
    person_household: np.ndarray
    birth_days: np.ndarray  # days since 1970-01-01
    male: np.ndarray
    surname: np.ndarray
    given1: np.ndarray
    given2: np.ndarray  # -1: a one-character given name
    phone: np.ndarray
    tags: np.ndarray
    id_sequence: np.ndarray
    as_of: dt.date
    counts: dict = field(default_factory=dict)


def districts_for(population: int) -> int:
    """About 6 districts for a town of 250,000 up to all 11 of Nanjing's for a few million."""
    return int(np.clip(round(6 + 2 * math.log2(max(population, 1) / 250_000)), 6, len(DISTRICTS)))


def split_grids(households: int, rng: np.random.Generator) -> np.ndarray:
    """Households per grid, each grid 300-500 (a grid worker knows every household).

    Below 300 households there is one smaller grid; between 501 and 599 no split fits the rule,
    so two grids of about 275 are made (the only case outside the range).
    """
    if households < 300:
        return np.array([households])
    lo, hi = math.ceil(households / 500), households // 300
    grids = min(max(round(households / 400), lo), hi) if lo <= hi else lo
    base = households / grids
    spread = max(0.0, min(0.2 * base, base - 301, 499 - base))
    weights = base + rng.uniform(-spread, spread, size=grids)
    sizes = np.floor(weights * households / weights.sum()).astype(np.int64)
    short = households - int(sizes.sum())
    sizes[np.argsort(sizes, kind="stable")[:short]] += 1  # the smallest grow, so none tops 500
    return sizes


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer shares of `total` proportional to weights, each at least 1."""
    n = len(weights)
    share = (total - n) * weights / weights.sum()
    out = np.floor(share).astype(np.int64)
    out[np.argsort(-(share - out), kind="stable")[: total - n - int(out.sum())]] += 1
    return out + 1


def plan(population: int, seed: int, as_of: dt.date | None = None) -> City:
    """Decide the whole city for a seed; no database involved."""
    if population < 1:
        raise ValueError("population must be at least 1")
    as_of = as_of or timezone.localdate()
    rng = np.random.default_rng(seed)

    # Households, trimmed so that their members add up to the population exactly.
    draw = rng.choice(np.arange(1, 7), size=int(population / 2.5) + 16, p=HOUSEHOLD_SIZES)
    while draw.sum() < population:
        draw = np.concatenate(
            [draw, rng.choice(np.arange(1, 7), size=len(draw), p=HOUSEHOLD_SIZES)]
        )
    ends = np.cumsum(draw)
    n_households = int(np.searchsorted(ends, population)) + 1
    household_size = draw[:n_households].copy()
    household_size[-1] -= int(ends[n_households - 1]) - population

    grid_households = split_grids(n_households, rng)
    n_grids = len(grid_households)
    n_districts = min(districts_for(population), n_grids)
    chosen = DISTRICTS[:n_districts]
    district_grids = largest_remainder(n_grids, np.array([d[3] for d in chosen]))

    nodes: list[Node] = []
    province = Node(
        PROVINCE[0],
        Level.PROVINCE,
        PROVINCE[1],
        None,
        child_path(None, PROVINCE[0]),
        0,
        name_en=PROVINCE[2],
    )
    nodes.append(province)
    nodes.append(
        Node(CITY[0], Level.CITY, CITY[1], 0, child_path(province, CITY[0]), 1, name_en=CITY[2])
    )
    used_names: set[str] = set()

    def place_name(suffixes: list[str], end: str, used: set[str] = used_names) -> str:
        # Real cities tell same-named places apart by a direction (长江路东社区); a number is the
        # last resort, needed only for cities of tens of millions.
        for qualifier in ["", "东", "西", "南", "北", "中"]:
            for _ in range(40):
                word = PLACE_WORDS[rng.integers(len(PLACE_WORDS))]
                name = f"{word}{suffixes[rng.integers(len(suffixes))]}{qualifier}{end}"
                if name not in used:
                    used.add(name)
                    return name
        name = f"{word}{len(used)}{end}"
        used.add(name)
        return name

    grid_nodes, grid_rural, grid_district = [], [], []
    for d_ord, ((code, name, name_en, _w, suburban, streets), quota) in enumerate(
        zip(chosen, district_grids, strict=True)
    ):
        d_idx = len(nodes)
        district = Node(
            code,
            Level.DISTRICT,
            name,
            1,
            child_path(nodes[1], code),
            2,
            name_en=name_en,
            address=name,
        )
        nodes.append(district)
        left = int(quota)
        n_street = n_town = 0
        street_names = iter(streets.split())
        while left > 0:
            # Suburban districts are half towns (镇, codes 1xx) with villages (村, codes 2xx).
            town = suburban and rng.random() < 0.5
            if town:
                n_town += 1
                s_code = f"{code}{100 + n_town:03d}"
            else:
                n_street += 1
                s_code = f"{code}{n_street:03d}"
            base = next(street_names, None)
            if base is None or f"{base}{'镇' if town else '街道'}" in used_names:
                s_name = place_name([""], "镇" if town else "街道")
            else:
                s_name = f"{base}{'镇' if town else '街道'}"
                used_names.add(s_name)
            s_idx = len(nodes)
            street = Node(
                s_code,
                Level.STREET,
                s_name,
                d_idx,
                child_path(district, s_code),
                3,
                address=district.address + s_name,
                rural=town,
            )
            nodes.append(street)
            n_comm = int(rng.integers(8, 18) if town else rng.integers(5, 13))
            n_res = n_vil = 0
            for _ in range(n_comm):
                if left <= 0:
                    break
                village = town and rng.random() < 0.7
                if village:
                    n_vil += 1
                    c_code = f"{s_code}{200 + n_vil:03d}"
                    c_name = place_name(VILLAGE_SUFFIXES, "村")
                    size = int(rng.integers(1, 3))
                else:
                    n_res += 1
                    c_code = f"{s_code}{n_res:03d}"
                    c_name = place_name(COMMUNITY_SUFFIXES, "社区")
                    size = int(rng.integers(2, 6))
                size = min(size, left)
                left -= size
                c_idx = len(nodes)
                community = Node(
                    c_code,
                    Level.COMMUNITY,
                    c_name,
                    s_idx,
                    child_path(street, c_code),
                    4,
                    address=street.address + c_name,
                    rural=village,
                )
                nodes.append(community)
                for g in range(1, size + 1):
                    g_code = f"{c_code}G{g:02d}"
                    grid_nodes.append(len(nodes))
                    grid_rural.append(village)
                    grid_district.append(d_ord)
                    nodes.append(
                        Node(
                            g_code,
                            Level.GRID,
                            f"{c_name}第{cn_number(g)}网格",
                            c_idx,
                            child_path(community, g_code),
                            5,
                            address=community.address,
                            rural=village,
                        )
                    )

    grid_nodes = np.array(grid_nodes, dtype=np.int64)
    grid_rural = np.array(grid_rural, dtype=bool)
    grid_district = np.array(grid_district, dtype=np.int64)

    # Buildings: urban blocks of 2-4 units x 6-18 floors x 2 flats, or village groups (组)
    # of 25-60 houses. The last building of a grid is part-occupied, as new estates are.
    household_grid = np.repeat(np.arange(n_grids), grid_households)
    building_grid, building_name, building_floors = [], [], []
    household_building = np.empty(n_households, dtype=np.int64)
    household_slot = np.empty(n_households, dtype=np.int64)
    estates: dict[int, set[str]] = {}  # estate names differ within a community only
    start = 0
    for g, count in enumerate(grid_households):
        count = int(count)
        if grid_rural[g]:
            caps = rng.integers(25, 61, size=count // 25 + 1)
            floors = np.zeros_like(caps)
            names = [
                f"第{cn_number(i + 1)}组" if i < 99 else f"第{i + 1}组" for i in range(len(caps))
            ]
        else:
            floors = rng.choice([6, 7, 11, 18], size=count // 24 + 1, p=[0.6, 0.1, 0.15, 0.15])
            units = rng.integers(2, 5, size=len(floors))
            caps = floors * units * 2
            community = nodes[int(grid_nodes[g])].parent
            estate = place_name(ESTATE_SUFFIXES, "", estates.setdefault(community, set()))
            names = [f"{estate}{i + 1}栋" for i in range(len(caps))]
        cap_end = np.cumsum(caps)
        used = int(np.searchsorted(cap_end, count)) + 1
        position = np.arange(count)
        local = np.searchsorted(cap_end[:used], position, side="right")
        first = len(building_grid)
        household_building[start : start + count] = first + local
        household_slot[start : start + count] = (
            position - np.concatenate([[0], cap_end[: used - 1]])[local]
        )
        building_grid.extend([g] * used)
        building_name.extend(names[:used])
        building_floors.extend(floors[:used].tolist())
        start += count

    # People, household by household; within a household the oldest comes first (the head).
    # Heads are adults; the other members are drawn so that all ages together follow the
    # census (adult bands thinned by what the heads already took), so no child lives alone.
    person_household = np.repeat(np.arange(n_households), household_size)
    n = population
    head_at = np.concatenate([[0], np.cumsum(household_size)[:-1]])
    is_head = np.zeros(n, dtype=bool)
    is_head[head_at] = True
    census = AGE_BANDS / AGE_BANDS.sum()
    adult = np.arange(len(AGE_BANDS)) >= 4  # 20 and over
    head_p = np.where(adult, census, 0) / census[adult].sum()
    member_p = np.maximum(census * n - head_p * n_households, 0)
    member_p = member_p / member_p.sum() if member_p.sum() > 0 else census
    band = np.where(
        is_head,
        rng.choice(len(AGE_BANDS), size=n, p=head_p),
        rng.choice(len(AGE_BANDS), size=n, p=member_p),
    )
    age_days = ((band + rng.random(n)) * 5 * DAYS_PER_YEAR).astype(np.int64)
    age_days = age_days[np.lexsort((-age_days, person_household))]
    age_days = np.minimum(age_days, 104 * 365)  # the oldest are 104, as in a real city
    band = np.minimum(age_days // int(5 * DAYS_PER_YEAR), len(AGE_BANDS) - 1)
    as_of_days = (np.datetime64(as_of, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
    birth_days = as_of_days - age_days

    male = rng.random(n) < MALE_SHARE[band]
    # The second member of a couple household is usually the head's spouse, of the other sex.
    spouse = head_at[household_size >= 2] + 1
    spouse = spouse[(age_days[spouse] >= 20 * DAYS_PER_YEAR) & (rng.random(len(spouse)) < 0.9)]
    male[spouse] = ~male[spouse - 1]

    weights = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()
    family_name = rng.choice(len(SURNAMES), size=n_households, p=weights)
    own_name = rng.choice(len(SURNAMES), size=n, p=weights)
    surname = np.where(rng.random(n) < 0.7, family_name[person_household], own_name)
    pool = np.where(male, len(MALE_CHARS), len(FEMALE_CHARS))
    given1 = (rng.random(n) * pool).astype(np.int64)
    given2 = np.where(rng.random(n) < 0.85, (rng.random(n) * pool).astype(np.int64), -1)

    phone = rng.choice(PHONE_PREFIXES, size=n) * 100_000_000 + rng.integers(0, 100_000_000, size=n)
    age_years = age_days / DAYS_PER_YEAR
    guardian = phone[np.repeat(head_at, household_size)]
    phone = np.where(age_years < GUARDIAN_AGE, guardian, phone)

    u = rng.random((4, n))
    tags = np.zeros(n, dtype=np.int64)
    tags |= np.where((age_years >= 60) & (u[0] < 0.15), Tag.CHRONIC_DISEASE.value, 0)
    tags |= np.where(
        ~male & (age_years >= 20) & (age_years < 40) & (u[1] < 0.01), Tag.PREGNANT.value, 0
    )
    tags |= np.where(u[2] < 0.02, Tag.DISABLED.value, 0)
    tags |= np.where((age_years >= 80) & (u[3] < 0.005), Tag.BEDRIDDEN.value, 0)
    tags |= np.where(household_size[person_household] == 1, Tag.LIVING_ALONE.value, 0)

    # GB 11643 sequence digits: unique within (district, birth date), the last one odd for men.
    district_of = grid_district[household_grid[person_household]]
    key_order = np.lexsort((np.arange(n), male, birth_days, district_of))
    k_d, k_b, k_m = district_of[key_order], birth_days[key_order], male[key_order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (k_d[1:] != k_d[:-1]) | (k_b[1:] != k_b[:-1]) | (k_m[1:] != k_m[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    rank = np.arange(n) - group_start
    if n and rank.max() >= 500:
        raise ValueError("more than 500 people of one sex born on one day in one district")
    offset = (k_b * 7919 + k_d * 104729) % 500  # spreads numbers the way police stations do
    id_sequence = np.empty(n, dtype=np.int64)
    id_sequence[key_order] = ((offset + rank) % 500) * 2 + k_m

    # Roll the population up the tree.
    grid_pop = np.bincount(household_grid, weights=household_size, minlength=n_grids).astype(
        np.int64
    )
    for g, node_index in enumerate(grid_nodes):
        node = nodes[node_index]
        while node is not None:
            node.population += int(grid_pop[g])
            node = nodes[node.parent] if node.parent is not None else None

    city = City(
        nodes=nodes,
        grid_nodes=grid_nodes,
        grid_rural=grid_rural,
        grid_district=grid_district,
        district_codes=np.array([int(d[0]) for d in chosen], dtype=np.int64),
        building_grid=np.array(building_grid, dtype=np.int64),
        building_name=building_name,
        building_floors=np.array(building_floors, dtype=np.int64),
        household_building=household_building,
        household_slot=household_slot,
        household_grid=household_grid,
        household_size=household_size,
        person_household=person_household,
        birth_days=birth_days,
        male=male,
        surname=surname,
        given1=given1,
        given2=given2,
        phone=phone,
        tags=tags,
        id_sequence=id_sequence,
        as_of=as_of,
    )
    city.counts = {level.value: sum(1 for x in nodes if x.level == level) for level in Level}
    city.counts.update(buildings=len(building_grid), households=n_households, persons=n)
    return city
