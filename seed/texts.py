"""Chinese incident descriptions for simulated reports, drawn from real hotline messages.

The source is 2,816 citizen messages to a provincial government message board, with every
place anonymised as A市, A2区 or A7县. Each message is cleaned, its place tokens turned into
words that read naturally in Dongguan, cut into short snippets (the subject and the opening
sentences) and filed under one of the 20 catalogue categories by keyword.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seed.catalogue import CATEGORIES

DEFAULT_PATH = (
    Path(__file__).resolve().parent / "data" / "hotline" / "citizen_messages_with_replies.csv"
)
MAX_SNIPPET = 120
MAX_DESCRIPTION = 300

SUBJECT, DETAIL = "留言主题", "留言详情"

# Substring keywords per category code. A message goes to the category with the most hits,
# the subject counting double because it names the complaint while the detail wanders.
KEYWORDS: Mapping[int, tuple[str, ...]] = {
    1: ("消防", "火灾", "灭火器", "失火", "着火", "起火", "易燃", "飞线充电", "电动车充电"),
    2: ("安全生产", "安全隐患", "燃气", "煤气", "液化气", "化学品", "危化", "电梯", "锅炉",
        "塔吊", "脚手架", "爆炸"),
    3: ("食品", "餐饮", "过期", "变质", "药品", "药店", "保健品", "地沟油", "外卖"),
    4: ("诊所", "行医", "饮用水", "水质", "蚊子", "老鼠", "蟑螂", "卫生院", "医疗机构"),
    5: ("乱收费", "价格", "假冒", "伪劣", "欺诈", "消费者", "退款", "虚假宣传", "霸王条款",
        "维权"),
    6: ("营业执照", "工商", "经营范围", "注册登记", "执照", "无证经营"),
    7: ("危房", "电线", "高压线", "坠物", "高空", "塌陷", "倒塌", "裂缝", "掉落"),
    8: ("赌博", "毒品", "吸毒", "盗窃", "小偷", "治安", "诈骗", "传销", "黑社会", "打架",
        "斗殴", "报警", "涉黑", "恶势力"),
    9: ("纠纷", "矛盾", "邻居", "邻里", "吵架", "离婚", "家暴", "医疗事故", "交通事故", "调解"),
    10: ("物业", "出租", "租房", "房东", "租户", "群租", "暂住", "流动人口", "居住证"),
    11: ("精神病", "精神障碍", "流浪", "乞讨", "刑满", "矫正", "精神疾病"),
    12: ("老人", "老年", "养老", "残疾", "低保", "救助", "困难户", "贫困", "扶贫", "五保",
         "孤寡", "特困"),
    13: ("幼儿园", "入学", "学位", "学前", "儿童", "小孩", "疫苗", "接种", "入园", "出生证"),
    14: ("垃圾", "保洁", "环卫", "公厕", "厕所", "清扫", "脏乱", "卫生差", "环境卫生", "臭"),
    15: ("占道", "摆摊", "摊贩", "小广告", "违建", "违章建筑", "违法建设", "加建", "搭建",
         "广告牌", "招牌", "城管"),
    16: ("噪音", "噪声", "扰民", "油烟", "污水", "排污", "污染", "废气", "焚烧", "粉尘",
         "异味", "环保", "偷排"),
    17: ("停车", "红绿灯", "信号灯", "交通", "公交", "违停", "黑车", "网约车", "出租车",
         "拥堵", "堵车", "斑马线", "客运", "车位"),
    18: ("路灯", "井盖", "道路破损", "路面", "坑洼", "下水道", "排水", "水管", "停水", "绿化",
         "树木", "人行道", "管网", "修路"),
    19: ("工资", "拖欠", "欠薪", "劳动", "社保", "劳动合同", "加班", "辞退", "童工", "农民工",
         "讨薪"),
    20: ("内涝", "积水", "滑坡", "洪水", "防汛", "河堤", "水库", "暴雨", "泄洪", "山洪", "被淹"),
}

TEMPLATES = (
    "{place}发现{item}，请相关部门尽快处理。",
    "网格员巡查时发现{place}存在{item}问题，已拍照留存，请尽快派员核查。",
    "群众反映{place}出现{item}情况，影响周边居民生活，请尽快处置。",
    "{place}{item}，经现场核实情况属实，请相关职能部门跟进处理。",
    "{place}{item}问题持续多日未见改善，居民要求尽快解决。",
)

# The anonymiser wrote cities as A市/B9市, districts as A2区 and counties as A7县 (once
# with a stray space, "J10 县"). A bare letter before 区 is an estate zone (涉外景园B区), not a
# place, so districts need the digit.
_PLACE = r"(?:[A-Z]\d*\s?[市县]|[A-Z]\d+\s?区)"
_PLACE_RUN = re.compile(rf"{_PLACE}+")
_PLACE_LEVEL = re.compile(r"[市区县]$")
# Dongguan has no districts or counties: towns sit right under the city.
_TOWN_WORD = "本镇"
_LOCAL_WORDS = {"市": "我市", "区": _TOWN_WORD, "县": _TOWN_WORD}
_NAMED_UNIT = re.compile(r"[\u4e00-\u9fff]{1,3}(?:镇|乡|街道)")
_PROVINCE = ("西地省", "广东省")
# Excel's escaped carriage return, left in the export as literal text.
_JUNK = re.compile(r"_x000D_|[\u200b-\u200f\ufeff]")
_SPACE = re.compile(r"\s+")
_CJK_SPACE = re.compile(r" (?=[^\x00-\x7f])|(?<=[^\x00-\x7f]) ")
_SENTENCE_END = "。！？!?"
_SENTENCE = re.compile(rf"[^{_SENTENCE_END}]+[{_SENTENCE_END}]*")
_CLAUSE = re.compile(r"([^，,：:；;！!。？?\s]{1,20})[，,：:；;！!。？?\s]+")
_GREETING = re.compile(
    r"^(?:尊敬|敬爱|亲爱)的|^各位"
    r"|(?:您|你|大家|领导|书记|市长|县长|区长|主任|局长|同志)们?(?:好|大人)?$"
)
# Greetings run straight into the message when the writer left out the comma: 领导您好我们….
_RUN_ON_GREETING = re.compile(
    r"^(?:领导|书记)?(?:大人)?(?:您|你)们?(?:好|辛苦了)[~～.。，,！!：:\s]*"
)
_NUMBERING = re.compile(r"^[（(]?[0-9一二三四五六七八九十]{1,2}[、.．)）]\s*")
_CLAUSE_BREAKS = "，；、,;"
_MIN_SNIPPET = 6
_MASK = "***"
# A subject hit or two detail hits; one passing word in the detail files too much noise.
_MIN_SCORE = 2
_CATEGORY_CODES = frozenset(c.code for c in CATEGORIES)


@dataclass(frozen=True)
class Message:
    """One cleaned hotline message: its subject, opening sentences and category (None: general)."""

    subject: str
    lead: str
    category: int | None

    def snippets(self) -> list[str]:
        """Subject and lead as finished snippets, minus those too short or garbled to use."""
        parts = (finish(self.subject), finish(self.lead))
        return [p for p in parts if len(p) > _MIN_SNIPPET and _reads_well(p)]


def _reads_well(snippet: str) -> bool:
    # Two 本镇 were two different districts (本镇至本镇段); *** masks an ID or phone number.
    return snippet.count(_TOWN_WORD) < 2 and _MASK not in snippet


class DescriptionSource:
    """Chinese incident descriptions for simulated reports, drawn from the real hotline messages."""

    def __init__(
        self,
        snippets: Mapping[int, Sequence[str]],
        general: Sequence[str] = (),
        message_count: int = 0,
    ) -> None:
        """Snippets by category code; `general` holds those that matched no category."""
        unknown = set(snippets) - _CATEGORY_CODES
        if unknown:
            raise ValueError(f"unknown category codes {sorted(unknown)}")
        self._snippets = {code: tuple(texts) for code, texts in snippets.items() if texts}
        self.general = tuple(general)
        self.message_count = message_count

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> DescriptionSource:
        """Parse and classify the hotline CSV at `path` (UTF-8, BOM optional)."""
        messages = read_messages(path)
        pools: dict[int | None, dict[str, None]] = {}
        for message in messages:
            pool = pools.setdefault(message.category, {})
            pool.update(dict.fromkeys(message.snippets()))
        general = pools.pop(None, {})
        return cls({code: list(p) for code, p in pools.items()}, list(general), len(messages))

    def snippets(self, category_code: int) -> tuple[str, ...]:
        """The snippets filed under `category_code`; empty if none matched it."""
        return self._snippets.get(category_code, ())

    def describe(
        self, rng: np.random.Generator, category_code: int, item_name: str, place: str
    ) -> str:
        """A report text naming `place` and `item_name`, at most MAX_DESCRIPTION characters.

        Uses a real snippet of the category when there is one, else a template sentence.
        Draws exactly one integer from `rng` either way; an unknown category is a ValueError.
        """
        if category_code not in _CATEGORY_CODES:
            raise ValueError(f"unknown category code {category_code}")
        place, item_name = tidy(place), tidy(item_name)
        pool = self._snippets.get(category_code)
        if pool:
            text = f"{place}{item_name}：{_pick(rng, pool)}"
        else:
            text = _pick(rng, TEMPLATES).format(place=place, item=item_name)
        return truncate(text, MAX_DESCRIPTION)


def read_messages(path: Path) -> list[Message]:
    """Every message in the CSV at `path`, cleaned and classified."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {SUBJECT, DETAIL} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        return [to_message(row[SUBJECT] or "", row[DETAIL] or "") for row in reader]


def to_message(subject: str, detail: str) -> Message:
    """Clean one raw message and file it under a category."""
    subject, lead = unspace(clean(subject)), unspace(lead_sentences(clean(detail)))
    return Message(subject, lead, classify(subject, lead))


def clean(text: str) -> str:
    """Single-spaced text without anonymised places."""
    text = _SPACE.sub(" ", _JUNK.sub(" ", text)).strip()
    return _PLACE_RUN.sub(_local_word, text).replace(*_PROVINCE)


def unspace(text: str) -> str:
    """`text` without the spaces that line breaks left between Chinese characters."""
    return _CJK_SPACE.sub("", text)


def _local_word(match: re.Match[str]) -> str:
    # A run like A市A2区 names one place: the most local level speaks for it.
    level = _PLACE_LEVEL.search(match.group()).group()
    rest = match.string[match.end():match.end() + 7].lstrip()
    if rest.startswith("委"):
        return level  # A市委 → 市委
    if rest.startswith(level) or _NAMED_UNIT.match(rest):
        return ""  # A市市政 → 市政, A7县北山镇 → 北山镇: the text already says where
    return _LOCAL_WORDS[level]


def lead_sentences(detail: str) -> str:
    """The first sentence of `detail`, greetings dropped, and the second if both fit MAX_SNIPPET."""
    body = _NUMBERING.sub("", drop_greetings(detail))
    sentences = [s.strip() for s in _SENTENCE.findall(body) if s.strip()]
    if not sentences:
        return ""
    lead = sentences[0]
    if len(sentences) > 1 and len(lead) + len(sentences[1]) <= MAX_SNIPPET:
        lead += sentences[1]
    return lead


def drop_greetings(text: str) -> str:
    """`text` without opening salutations such as 尊敬的书记，您好！"""
    while (match := _CLAUSE.match(text)) and _GREETING.search(match.group(1)):
        text = text[match.end():]
    return _RUN_ON_GREETING.sub("", text)


def classify(subject: str, lead: str) -> int | None:
    """The category code with the most keyword hits, or None when nothing matches."""
    scores = {
        code: 2 * _hits(subject, words) + _hits(lead, words) for code, words in KEYWORDS.items()
    }
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] >= _MIN_SCORE else None


def _hits(text: str, words: Iterable[str]) -> int:
    return sum(word in text for word in words)


def finish(snippet: str) -> str:
    """`snippet` cut to MAX_SNIPPET characters and ending like a sentence ("" stays "")."""
    snippet = truncate(snippet.strip(" ，,；;、：:"), MAX_SNIPPET - 1)
    if not snippet or snippet[-1] in _SENTENCE_END + "…":
        return snippet
    return snippet + "。"


def truncate(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut at a clause break past halfway when there is one."""
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    cut = max(head.rfind(mark) for mark in _CLAUSE_BREAKS)
    return (head[:cut] if cut > limit // 2 else head) + "…"


def tidy(text: str) -> str:
    """`text` on one line with single spaces."""
    return _SPACE.sub(" ", text).strip()


def _pick(rng: np.random.Generator, choices: Sequence[str]) -> str:
    return choices[int(rng.integers(len(choices)))]
