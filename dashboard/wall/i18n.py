"""The wall's words, Chinese first. A wall's language is its URL's `?lang=` (zh or en), else
the server's WALL_LANGUAGE; each wall is a kiosk on a fixed URL, so the URL is its setting."""
from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "网格化管理指挥大屏", "en": "Grid Governance Command Wall"},
    "level.city": {"zh": "市级", "en": "City"},
    "level.town": {"zh": "镇街", "en": "Town"},
    "level.village": {"zh": "村（社区）", "en": "Village"},
    "reported": {"zh": "今日上报", "en": "Reported today"},
    "open": {"zh": "在办", "en": "Open"},
    "overdue": {"zh": "超时", "en": "Overdue"},
    "on_time_rate": {"zh": "按时办结率", "en": "On-time closure"},
    "dispute_rate": {"zh": "矛盾纠纷化解率", "en": "Disputes resolved"},
    "vs_last_week": {"zh": "较上周同期", "en": "vs same time last week"},
    "no_figure": {"zh": "暂无", "en": "n/a"},
    "map": {"zh": "热点分布", "en": "Hotspots"},
    "map.count": {"zh": "上报数", "en": "Reports"},
    "map.anomaly": {"zh": "异常度", "en": "Anomaly"},
    "feed": {"zh": "实时上报", "en": "Live reports"},
    "feed.empty": {"zh": "暂无新上报", "en": "No new reports"},
    "board": {"zh": "临期与超时事件", "en": "Deadlines"},
    "board.empty": {"zh": "暂无临期事件", "en": "Nothing near its deadline"},
    "board.overdue": {"zh": "已超时", "en": "overdue"},
    "board.alarm": {"zh": "新超时告警 · 待值班长确认", "en": "New breach · awaiting shift lead"},
    "categories": {"zh": "今日事件类别", "en": "Today by category"},
    "trend": {"zh": "24小时趋势", "en": "Last 24 hours"},
    "trend.this_week": {"zh": "本周", "en": "This week"},
    "trend.last_week": {"zh": "上周同期", "en": "Last week"},
    "updated": {"zh": "数据更新于 {n} 秒前", "en": "Updated {n} s ago"},
    "banner": {"zh": "实时连接中断，正在重新连接……画面数据可能不是最新",
               "en": "Live connection lost, reconnecting… figures may be out of date"},
    "not_found": {"zh": "没有这个区域", "en": "No such area"},
    "back": {"zh": "返回上级", "en": "Up one level"},
    "stage.accept": {"zh": "受理", "en": "accept"},
    "stage.dispatch": {"zh": "派遣", "en": "dispatch"},
    "stage.handle": {"zh": "处置", "en": "handle"},
    "stage.check": {"zh": "核查", "en": "check"},
}


def pick_language(requested: str | None, default: str = "zh") -> str:
    return requested if requested in LANGUAGES else default


def translate(table: dict[str, dict[str, str]], key: str, lang: str, **values) -> str:
    """One entry of a page's {key: {"zh", "en"}} table, with its {placeholders} filled."""
    text = table[key][lang]
    return text.format(**values) if values else text


def pick_pair(table: dict[str, tuple[str, str]], key, lang: str) -> str:
    """A value's label from a page's {value: (zh, en)} table; the value itself when the table
    has no entry, so a new value still shows."""
    pair = table.get(str(key))
    return pair[0 if lang == "zh" else 1] if pair else str(key)


def t(key: str, lang: str, **values) -> str:
    return translate(TEXT, key, lang, **values)


def name_of(row, lang: str) -> str:
    """An area's, item's or category's name in the wall's language (Chinese if no English)."""
    return (row.name_en or row.name_zh) if lang == "en" else row.name_zh

