"""The synthetic city: a deterministic, realistic Nanjing from province down to every resident."""

from __future__ import annotations

import datetime as dt
import io
import math
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fangkong.audit.services import audit_record
from fangkong.common.dbroles import owns
from fangkong.geo.models import Building, Household, Jurisdiction, Level
from fangkong.geo.services import child_path
from fangkong.people.idnumber import CHECK_CHARS, WEIGHTS
from fangkong.people.models import DocumentType, Person, Tag

# ---------------------------------------------------------------------------------------------
# Reference data (kept in tables, one row a line, rather than one value a line)

# fmt: off
PROVINCE = ("320000", "江苏省", "Jiangsu")
CITY = ("320100", "南京市", "Nanjing")

# Nanjing's real districts: code, name, English name, resident population in the 2020 census
# (tens of thousands, used as weights), whether it is suburban (towns and villages), and real
# street/town names. Weights keep the core districts small and Jiangning large, as in life;
# the order is the order in which districts are added as the population grows.
DISTRICTS = [
    ("320102", "玄武区", "Xuanwu", 53.7, False, "梅园新村 新街口 玄武门 锁金村 红山 孝陵卫 玄武湖"),
    ("320104", "秦淮区", "Qinhuai", 74.0, False,
     "夫子庙 朝天宫 瑞金路 月牙湖 光华路 中华门 双塘 红花 秦虹 大光路 五老村 洪武路"),
    ("320105", "建邺区", "Jianye", 53.5, False, "莫愁湖 沙洲 双闸 江心洲 兴隆 南苑"),
    ("320106", "鼓楼区", "Gulou", 94.0, False,
     "华侨路 湖南路 中央门 挹江门 江东 凤凰 宁海路 热河南路 幕府山 建宁路 宝塔桥 小市"),
    ("320113", "栖霞区", "Qixia", 98.8, False, "尧化 马群 迈皋桥 燕子矶 栖霞 龙潭 仙林 八卦洲 西岗"),
    ("320115", "江宁区", "Jiangning", 192.6, True, "东山 秣陵 汤山 淳化 禄口 江宁 谷里 湖熟 横溪 麒麟"),
    ("320114", "雨花台区", "Yuhuatai", 60.9, False, "雨花 赛虹桥 西善桥 板桥 铁心桥 梅山 古雄"),
    ("320111", "浦口区", "Pukou", 117.2, True, "泰山 顶山 沿江 江浦 桥林 汤泉 盘城 星甸 永宁"),
    ("320116", "六合区", "Luhe", 94.6, True, "雄州 龙池 程桥 金牛湖 横梁 龙袍 马鞍 冶山 竹镇"),
    ("320117", "溧水区", "Lishui", 49.1, True, "永阳 柘塘 洪蓝 石湫 东屏 晶桥 白马 和凤"),
    ("320118", "高淳区", "Gaochun", 43.0, True, "淳溪 古柏 漆桥 固城 砖墙 东坝 桠溪 阳江"),
]

PLACE_WORDS = (
    "长江 丹凤 珠江 进香 太平 锦绣 新华 东风 红旗 光明 天河 明珠 怡康 紫金 南湖 北苑 西园 东城 "
    "金陵 玉泉 翠竹 银杏 桃园 梧桐 石榴 枫林 清凉 莲花 龙江 银城 华新 幸福 和平 文昌 盛世 春江 "
    "秋实 百合 香樟 芳草 青石 双桥 三元 五福 六合 七里 九华 十里 安居 康乐 惠民 瑞景 嘉禾 景明 "
    "宏图 兴隆 丰收 永安 同心 新河 马台 石门 古槐 柳营 杏林 竹园 梅岭 兰苑 菊园 荷塘 樱花 月华 "
    "星河 朝阳 晓庄 御道 仁寿 积善 乐业 德馨 崇文 尚书 状元 学府 书香 静安 平江 方山 凤栖 雁南"
).split()
VILLAGE_SUFFIXES = ["", "", "庄", "桥", "塘", "圩", "岗", "营", "湾", "店", "山", "巷"]
COMMUNITY_SUFFIXES = ["里", "苑", "园", "新村", "路", "桥", "街", "湾", "坊", "花园", "", ""]
ESTATE_SUFFIXES = ["花园", "小区", "新村", "家园", "苑", "公寓", "名邸", "雅居"]

# The 7th national census (2020): percent of the population in each five-year age band
# (0-4 ... 100+), and the share of men in it (fewer men among the old).
AGE_BANDS = np.array([
    5.49, 6.37, 6.18, 5.24, 5.33, 6.58, 8.79, 6.99, 6.63, 8.00, 8.67, 7.17, 5.22, 5.51, 3.79,
    2.39, 1.60, 0.87, 0.30, 0.06, 0.01,
])
MALE_SHARE = np.array([
    0.526, 0.535, 0.539, 0.541, 0.533, 0.517, 0.510, 0.508, 0.508, 0.505, 0.503, 0.501, 0.496,
    0.490, 0.485, 0.470, 0.440, 0.400, 0.340, 0.290, 0.250,
])
# Household sizes 1..6 (mean 2.59; the 7th census counts 2.62 persons per family household).
HOUSEHOLD_SIZES = np.array([0.25, 0.30, 0.21, 0.13, 0.07, 0.04])

# The most common surnames and their share in percent (2020 national ranking).
SURNAMES = (
    "王7.12 李7.0 张6.74 刘5.38 陈4.53 杨3.08 黄2.45 赵2.16 吴2.05 周1.92 徐1.61 孙1.51 马1.44 "
    "朱1.35 胡1.30 郭1.15 何1.15 林1.09 高1.0 罗0.98 郑0.83 梁0.83 谢0.75 宋0.72 唐0.70 许0.67 "
    "韩0.66 冯0.63 邓0.62 曹0.61 彭0.60 曾0.58 肖0.57 田0.56 董0.52 潘0.50 袁0.50 蔡0.47 蒋0.47 "
    "余0.45 于0.45 杜0.45 叶0.44 程0.42 魏0.41 苏0.41 吕0.40 丁0.40 任0.39 卢0.36 姚0.36 沈0.35 "
    "钟0.35 姜0.34 崔0.33 谭0.32 陆0.32 范0.30 汪0.30 廖0.29 石0.29 金0.28 韦0.28 贾0.28 夏0.27 "
    "付0.26 方0.26 邹0.25 熊0.25 白0.25 孟0.24 秦0.24 邱0.24 侯0.23 江0.23 尹0.22 薛0.22 闫0.22 "
    "段0.21 雷0.21 龙0.20 黎0.20 史0.20 陶0.20 贺0.19 毛0.18 郝0.18 顾0.18 龚0.17 邵0.17 万0.17 "
    "钱0.16 武0.16 戴0.16 严0.15 孔0.15 向0.15 常0.14 汤0.14 欧阳0.05 诸葛0.01 司马0.01"
).split()
SURNAME_NAMES = [s.rstrip("0123456789.") for s in SURNAMES]
SURNAME_WEIGHTS = np.array([float(s[len(n):]) for s, n in zip(SURNAMES, SURNAME_NAMES, strict=True)])
MALE_CHARS = list(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国志文海东峰成亮晨博子轩睿泽然"
    "宏永立新德春金兵庆生荣祥晓天一佳嘉诚皓铭昊宸逸豪毅云振家"
)
FEMALE_CHARS = list(
    "芳娜敏静丽艳娟霞燕玲桂英秀兰红梅琳洁婷雪慧颖倩欣怡佳萱雨诗涵梦晴悦琪晶萍莉丹蕾璐瑶琴凤玉美淑"
    "珍月思宁妍彤可心馨若梓依"
)
# Mobile number prefixes of the three carriers.
PHONE_PREFIXES = np.array(
    list(range(130, 140)) + [145, 147, 150, 151, 152, 153, 155, 156, 157, 158, 159, 166]
    + [173, 175, 176, 177, 178] + list(range(180, 190)) + [191, 198, 199],
    dtype=np.int64,
)
# fmt: on
CN_DIGITS = "〇一二三四五六七八九"
DAYS_PER_YEAR = 365.2425
GUARDIAN_AGE = 14  # children under this carry a guardian's phone


def cn_number(n: int) -> str:
    """1..99 in Chinese numerals, as in 第十二网格."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return CN_DIGITS[ones]
    return f"{'' if tens == 1 else CN_DIGITS[tens]}十{CN_DIGITS[ones] if ones else ''}"


# ---------------------------------------------------------------------------------------------
# The plan: everything decided in memory, numbers only where there are many rows


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


# ---------------------------------------------------------------------------------------------
# Rows: Arrow tables built column-wise, so formatting a million people is a few vector passes


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


# ---------------------------------------------------------------------------------------------
# Loading: COPY on PostgreSQL, executemany on SQLite

PERSON_CHUNK = 250_000
MODELS = [Person, Household, Building, Jurisdiction]  # children first, for deleting


class SynthError(ValueError):
    pass


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model, n: int) -> int:
    """The first of n consecutive fresh ids, so that rows can reference each other before
    insertion and the sequence never hands those ids out again."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT setval(%s, nextval(%s) + %s - 1)", [sequence, sequence, max(n, 1)]
            )
            return cursor.fetchone()[0] - max(n, 1) + 1
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")
        return max(row[0] if row else 0, cursor.fetchone()[0] or 0) + 1


def insert(model, table: pa.Table) -> None:
    name = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in table.column_names)
    with connection.cursor() as cursor:
        if _postgres():
            buffer = io.BytesIO()
            pacsv.write_csv(
                table, buffer, pacsv.WriteOptions(include_header=False, batch_size=65_536)
            )
            # FREEZE: the table was truncated in this transaction (see registry_replaced); not
            # when the app role, which may not truncate, deleted the rows instead.
            freeze = ", FREEZE" if _TRUNCATED.get() else ""
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv{freeze})") as copy:
                copy.write(buffer.getbuffer())
        else:
            rows = list(zip(*(column.to_pylist() for column in table.columns), strict=True))
            marks = ", ".join(["%s"] * len(table.column_names))
            cursor.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)


def registry_is_empty() -> bool:
    return not any(model.objects.exists() for model in MODELS)


def detach_users() -> int:
    """Users keep their accounts but lose their node (the demo binds them again)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(jurisdiction__isnull=False).update(jurisdiction=None)


# Whether registry_replaced truncated the tables in this transaction (COPY may then FREEZE).
_TRUNCATED: ContextVar[bool] = ContextVar("synth_truncated", default=False)


@contextmanager
def registry_replaced():
    """Empty the registry tables, let the caller fill them, and leave them consistent.

    On PostgreSQL the tables are truncated, and their secondary indexes and the foreign keys on
    or pointing at them are set aside meanwhile, all inside the caller's transaction. Deleting
    a million rows queues a referential check per row and referring table, and loading them
    with the keys in place queues as many again (half a minute each for a million people),
    while rebuilding an index from a sort and validating a key with one join takes seconds.
    Truncation also lets COPY write the rows frozen and visible, so no VACUUM rewrites them.
    The schema is the same afterwards; rows elsewhere that still point at the old registry
    make the re-validation fail, which rolls everything back.
    """
    quote = connection.ops.quote_name
    tables = [m._meta.db_table for m in MODELS]
    with connection.cursor() as cursor:
        # The application role of a deployment owns no table: it deletes instead of truncating.
        if not _postgres() or not owns(*tables):
            for table in tables:
                cursor.execute(f"DELETE FROM {quote(table)}")
            yield
            return
        # Tables with queued deferred checks cannot be altered: run those checks now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE (contype = 'f' AND (conrelid = ANY(%s::regclass[]) "
            "OR confrelid = ANY(%s::regclass[]))) "
            "OR (contype = 'u' AND conrelid = ANY(%s::regclass[])) "
            "ORDER BY contype DESC, 1, 2",
            [tables, tables, tables],
        )
        constraints = cursor.fetchall()  # unique ones first, then the foreign keys
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND indexrelid NOT IN "
            "(SELECT conindid FROM pg_constraint WHERE conindid <> 0) ORDER BY 1",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in reversed(constraints):
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute(f"TRUNCATE {', '.join(quote(t) for t in tables)}")
        token = _TRUNCATED.set(True)
        try:
            yield
        finally:
            _TRUNCATED.reset(token)
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in constraints:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


def load(city: City, log=None) -> None:
    log = log or (lambda message: None)
    first_node = reserve_ids(Jurisdiction, len(city.nodes))
    first_building = reserve_ids(Building, len(city.building_grid))
    first_household = reserve_ids(Household, len(city.household_size))
    first_person = reserve_ids(Person, len(city.person_household))
    grid_first_id = first_node + city.grid_nodes

    insert(Jurisdiction, node_table(city, first_node))
    insert(Building, building_table(city, first_building, grid_first_id))
    households = household_table(city, first_household, first_building, grid_first_id)
    insert(Household, households)
    log(f"tree, {len(city.building_grid):,} buildings, {len(households):,} households written")

    now = timezone.now()
    stamp = now.isoformat() if _postgres() else connection.ops.adapt_datetimefield_value(now)
    grid_paths = pa.array([city.nodes[i].path for i in city.grid_nodes], pa.string())
    address = households.column("address").combine_chunks()
    n = len(city.person_household)
    for start in range(0, n, PERSON_CHUNK):
        rows = slice(start, min(start + PERSON_CHUNK, n))
        table = person_table(
            city, rows, first_person, first_household, grid_first_id, grid_paths, address, stamp
        )
        insert(Person, table)
        log(f"{rows.stop:,} / {n:,} people written")


def synth_city(
    *, population: int, seed: int, reset: bool = False, as_of: dt.date | None = None, log=None
) -> dict:
    """Build and store the synthetic city; returns the counts and the seconds it took."""
    began = time.perf_counter()
    sink = log or (lambda message: None)

    def log(message: str) -> None:
        sink(f"{time.perf_counter() - began:6.1f} s  {message}")

    city = plan(population, seed, as_of)
    log("planned")
    try:
        with transaction.atomic():
            if not registry_is_empty():
                if not reset:
                    raise SynthError(
                        "the registry already holds people, households, buildings or "
                        "jurisdictions; run with --reset to delete them first"
                    )
                log(f"{detach_users()} users detached from their jurisdiction")
            if _postgres():
                with connection.cursor() as cursor:
                    # A load repeatable from its seed need not wait for each WAL flush.
                    cursor.execute("SET LOCAL synchronous_commit = off")
            with registry_replaced():
                log("registry emptied")
                load(city, log)
            log("indexes built, keys checked")
            audit_record(
                actor=None,
                action="import",
                object_type="synth",
                object_repr=f"synthetic city, seed {seed}",
                jurisdiction_path=city.nodes[0].path,
                changes={**city.counts, "seed": seed, "as_of": city.as_of.isoformat()},
            )
    except IntegrityError as exc:
        raise SynthError(
            f"other records still refer to the registry, so it cannot be replaced: {exc}"
        ) from exc
    log("committed")
    analyze()
    log("analysed")
    return {**city.counts, "seconds": round(time.perf_counter() - began, 1)}


def analyze() -> None:
    """Fresh statistics, and on PostgreSQL a visibility map so that subtree counts are
    index-only scans (a fresh COPY leaves every page not-all-visible)."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in reversed(MODELS))
    with connection.cursor() as cursor:
        if _postgres() and not owns(*(m._meta.db_table for m in MODELS)):
            return  # autovacuum's work then: only a table's owner may analyse it
        if _postgres():
            if connection.in_atomic_block:
                cursor.execute(f"ANALYZE {tables}")
            else:
                cursor.execute(f"VACUUM (ANALYZE) {tables}")
        else:
            cursor.execute("ANALYZE")
