"""Plausible Chinese names for generated villages, communities and grids."""
from __future__ import annotations

import numpy as np

VILLAGE = "村"
COMMUNITY = "社区"

# Position and quality words, and landforms, that open Pearl River Delta village names.
_PREFIXES = "上下新大东西南北横高长白青黄沙石塘水田岭莆桥"
# Landforms, water words, and animals and trees of good omen that close them (新围, 上沙, 石龙).
_CORES = "沙石塘围坑岭涌洲坦埔冈岗头边湖山龙凤鹤鳌竹松樟荔榕梅美丰基田朗滘沥步墩厦尾心溪"
# Landforms that end 3-character stems such as 上龙塘 or 新荔围.
_LANDFORMS = "塘围坑头边岭洲涌冈"
# Hakka and Cantonese settlements named after the founding clan: 陈屋, 袁屋边, 李家.
_SURNAMES = "陈李黄袁卢罗莫何梁黎方张王刘林叶邓钟谢蔡赖周"
_CLAN_ENDINGS = ("屋", "屋边", "屋围", "家", "边")
_NATURE = "龙凤鹤鳌竹松樟荔榕梅"

# Share of 村 among generated names, by the kind of town-level unit.
_VILLAGE_SHARE = {"街道": 0.1, "镇": 0.7, "管委会": 0.0, "生态园": 0.0}
_DEFAULT_VILLAGE_SHARE = 0.7


def village_names(rng: np.random.Generator, n: int, town_name: str) -> list[str]:
    """n unique village (村) or community (社区) names for the town `town_name`.

    Subdistricts (街道) get mostly communities, towns (镇) about 70% villages,
    management committees and the eco-park only communities.
    """
    stems = _unique_stems(rng, n)
    share = _village_share(town_name)
    return [stem + (VILLAGE if rng.random() < share else COMMUNITY) for stem in stems]


def grid_name(village_name: str, index: int) -> str:
    """Name of the `index`-th (1-based) grid of a village, e.g. 新围村第3网格."""
    if index < 1:
        raise ValueError("grid index is 1-based")
    return f"{village_name}第{index}网格"


def is_community(name: str) -> bool:
    """True for a community (社区) rather than a village (村)."""
    return name.endswith(COMMUNITY)


def _village_share(town_name: str) -> float:
    for ending, share in _VILLAGE_SHARE.items():
        if town_name.endswith(ending):
            return share
    return _DEFAULT_VILLAGE_SHARE


def _unique_stems(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct stems; uniqueness is on the stem so 新围村 and 新围社区 never coexist."""
    stems: dict[str, None] = {}
    attempts = 0
    while len(stems) < n:
        attempts += 1
        if attempts > 100 * n + 1000:
            raise ValueError(f"cannot make {n} distinct village names")
        stem = _stem(rng)
        if len(set(stem)) == len(stem):
            stems[stem] = None
    return list(stems)


def _stem(rng: np.random.Generator) -> str:
    """A 2-character stem, sometimes a clan name or a 3-character stem."""
    roll = rng.random()
    if roll < 0.2:
        return _pick(rng, _SURNAMES) + _pick(rng, _CLAN_ENDINGS)
    if roll < 0.3:
        return _pick(rng, _PREFIXES) + _pick(rng, _NATURE) + _pick(rng, _LANDFORMS)
    return _pick(rng, _PREFIXES) + _pick(rng, _CORES)


def _pick(rng: np.random.Generator, choices: str | tuple[str, ...]) -> str:
    return choices[int(rng.integers(len(choices)))]
