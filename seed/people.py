"""Plausible Chinese personal names for generated staff."""
from __future__ import annotations

import numpy as np

# The most common surnames in Guangdong, roughly by frequency.
_SURNAMES = "陈李黄张梁林刘吴罗杨何郑谢周叶钟曾邓蔡赖许袁卢莫冯朱胡彭苏王方黎"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玲建国志红文辉鹏斌婷雪慧嘉俊欣怡子浩宇晨"


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """n names of two or three characters (names may repeat, as real ones do)."""
    surnames = rng.choice(list(_SURNAMES), size=n)
    lengths = rng.choice([1, 2], size=n, p=[0.3, 0.7])
    given = list(_GIVEN)
    return [s + "".join(rng.choice(given, size=k)) for s, k in zip(surnames, lengths)]
