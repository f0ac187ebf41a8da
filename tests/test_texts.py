"""Tests for seed.texts against the real hotline messages and a few tiny written ones."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from seed.catalogue import CATEGORIES, all_items
from seed.texts import (
    KEYWORDS,
    MAX_DESCRIPTION,
    MAX_SNIPPET,
    TEMPLATES,
    DescriptionSource,
    clean,
    to_message,
)

HOTLINE_FILE = (
    Path(__file__).resolve().parents[1]
    / "seed" / "data" / "hotline" / "citizen_messages_with_replies.csv"
)
# What the anonymiser left: A市, B9市, A7县, J10 县, A2区 (a bare B区 is an estate zone).
ANONYMISED = re.compile(r"[A-Z]\d*\s?[市县]|[A-Z]\d+\s?区")
CONTROL = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]")
PLACE = "南城街道石竹社区第2网格"
ITEMS = all_items()


@pytest.fixture(scope="module")
def source() -> DescriptionSource:
    if not HOTLINE_FILE.exists():
        pytest.fail(f"real hotline messages are missing: expected {HOTLINE_FILE}")
    return DescriptionSource.load(HOTLINE_FILE)


def describe_many(source: DescriptionSource, seed: int, n: int) -> list[tuple[str, str, str]]:
    """n (description, item name, place) triples over random catalogue items."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        category, item = ITEMS[int(rng.integers(len(ITEMS)))]
        out.append((source.describe(rng, category.code, item.name_zh, PLACE), item.name_zh, PLACE))
    return out


def all_snippets(source: DescriptionSource) -> list[str]:
    return [s for c in CATEGORIES for s in source.snippets(c.code)] + list(source.general)


def test_it_parses_at_least_2000_real_messages(source):
    assert source.message_count >= 2000


def test_it_finds_snippets_for_at_least_15_categories(source):
    covered = [c.code for c in CATEGORIES if source.snippets(c.code)]
    assert len(covered) >= 15, f"only categories {covered} have snippets"


def test_it_keeps_unmatched_messages_in_a_general_pool(source):
    assert source.general


def test_it_has_keywords_for_exactly_the_catalogue_categories():
    assert set(KEYWORDS) == {c.code for c in CATEGORIES}
    assert all(KEYWORDS.values())


def test_it_keeps_snippets_short_on_one_line_and_free_of_anonymised_places(source):
    for snippet in all_snippets(source):
        assert 0 < len(snippet) <= MAX_SNIPPET, snippet
        assert not CONTROL.search(snippet), snippet
        assert not ANONYMISED.search(snippet), snippet
        assert "x000D" not in snippet, snippet


def test_it_describes_deterministically_for_the_same_seed(source):
    assert describe_many(source, 7, 200) == describe_many(source, 7, 200)


def test_it_varies_descriptions_across_seeds(source):
    assert describe_many(source, 1, 50) != describe_many(source, 2, 50)


def test_it_names_the_place_and_item_within_300_chars_on_one_line(source):
    for text, item_name, place in describe_many(source, 11, 2000):
        assert text and len(text) <= MAX_DESCRIPTION, text
        assert place in text and item_name in text, text
        assert not CONTROL.search(text), text


def test_it_leaves_no_anonymised_place_tokens_in_descriptions(source):
    for text, _, _ in describe_many(source, 13, 3000):
        assert not ANONYMISED.search(text), text


def test_it_covers_every_catalogue_item(source):
    rng = np.random.default_rng(3)
    for category, item in ITEMS:
        text = source.describe(rng, category.code, item.name_zh, PLACE)
        assert PLACE in text and item.name_zh in text, text


def test_it_falls_back_to_a_template_for_a_category_without_snippets():
    source = DescriptionSource({16: ["楼下烧烤店油烟很大。"]})
    expected = {t.format(place=PLACE, item="拖欠工资") for t in TEMPLATES}
    rng = np.random.default_rng(0)
    texts = {source.describe(rng, 19, "拖欠工资", PLACE) for _ in range(200)}
    assert texts <= expected
    assert len(texts) > 1


def test_it_uses_a_snippet_of_the_category_when_one_exists():
    source = DescriptionSource({16: ["楼下烧烤店油烟很大。"]})
    text = source.describe(np.random.default_rng(0), 16, "废气油烟污染", PLACE)
    assert text == f"{PLACE}废气油烟污染：楼下烧烤店油烟很大。"


def test_it_cuts_an_overlong_description_to_300_chars():
    source = DescriptionSource({})
    text = source.describe(np.random.default_rng(0), 1, "消防通道堵塞", "长" * 400)
    assert 0 < len(text) <= MAX_DESCRIPTION
    assert text.endswith("…")


def test_it_puts_place_and_item_on_one_line():
    source = DescriptionSource({})
    text = source.describe(np.random.default_rng(0), 1, "消防通道\t堵塞", "南城街道\n石竹社区")
    assert not CONTROL.search(text), text


def test_it_rejects_an_unknown_category_code():
    with pytest.raises(ValueError, match="unknown category code 21"):
        DescriptionSource({}).describe(np.random.default_rng(0), 21, "x", PLACE)
    with pytest.raises(ValueError, match="unknown category codes"):
        DescriptionSource({99: ["x"]})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("位于A市的A2区公安分局", "位于我市的本镇公安分局"),
        ("A市A2区桂花坪街道的宿舍", "桂花坪街道的宿舍"),
        ("在B9市和K3县之间", "在我市和本镇之间"),
        ("联系A市市政工程管理局", "联系市政工程管理局"),
        ("请A市委督办", "请市委督办"),
        ("我是A7县北山镇村民", "我是北山镇村民"),
        ("维护好J10 县房地产秩序", "维护好本镇房地产秩序"),
        ("涉外景园B区5号栋", "涉外景园B区5号栋"),
        ("西地省交通运输厅", "广东省交通运输厅"),
    ],
)
def test_it_turns_anonymised_places_into_local_words(raw, expected):
    assert clean(raw) == expected


def test_it_drops_greetings_and_joins_the_first_two_sentences():
    detail = "\n\t\t尊敬的书记：\n\t您好！_x000D_\n小区门口垃圾堆积一周无人清运。\t臭气熏天。还有第三句。"
    message = to_message("A2区某小区垃圾无人清运", detail)
    assert message.subject == "本镇某小区垃圾无人清运"
    assert message.lead == "小区门口垃圾堆积一周无人清运。臭气熏天。"
    assert message.category == 14


def test_it_classifies_by_keywords_and_leaves_the_rest_general():
    assert to_message("投诉某工厂拖欠工资", "已经三个月没发工资了。").category == 19
    assert to_message("楼下餐馆噪音扰民", "每晚营业到凌晨。").category == 16
    assert to_message("咨询房产证办理", "请问需要什么材料。").category is None


def test_it_trims_long_snippets_to_the_limit():
    detail = "我们小区" + "，道路坑洼不平" * 40 + "。"
    snippets = to_message("路面坑洼", detail).snippets()
    assert snippets and all(len(s) <= MAX_SNIPPET for s in snippets)
    assert snippets[-1].endswith("…")


def test_it_reads_a_small_csv_with_a_bom(tmp_path):
    path = tmp_path / "hotline.csv"
    rows = (
        "留言编号,留言主题,留言详情\n"
        '1,A市某路段路灯不亮,"\n\t\t某路段路灯坏了一个月。\n\t"\n'
        '2,咨询落户政策,"请问落户需要什么材料？"\n'
    )
    path.write_text(rows, encoding="utf-8-sig")
    source = DescriptionSource.load(path)
    assert source.message_count == 2
    assert source.snippets(18) == ("我市某路段路灯不亮。", "某路段路灯坏了一个月。")
    assert source.general == ("咨询落户政策。", "请问落户需要什么材料？")


def test_it_names_missing_columns(tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("编号,标题\n1,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        DescriptionSource.load(path)
