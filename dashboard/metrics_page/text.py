"""The metrics page's words, Chinese first (`?lang=en` for English)."""
from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "指标分析", "en": "Metrics"},
    "range": {"zh": "日期范围", "en": "Date range"},
    "previous": {"zh": "上期", "en": "Previous period"},
    "vs_previous": {"zh": "较上期", "en": "vs previous period"},
    "points": {"zh": "个百分点", "en": "pts"},
    "hours": {"zh": "小时", "en": "h"},
    "pieces": {"zh": "件", "en": ""},
    "no_figure": {"zh": "暂无", "en": "n/a"},
    "indicators": {"zh": "指标", "en": "Indicators"},
    "stages": {"zh": "各环节按时率", "en": "On time by stage"},
    "stage.counts": {"zh": "按时 {on_time} / 完成 {done}", "en": "{on_time} of {done} on time"},
    "trend": {"zh": "每日趋势", "en": "Daily trend"},
    "rankings": {"zh": "排名", "en": "Rankings"},
    "rank_by": {"zh": "排名指标", "en": "Rank by"},
    "areas.town": {"zh": "镇街排名", "en": "Towns"},
    "areas.village": {"zh": "村（社区）排名", "en": "Villages"},
    "areas.none": {"zh": "村（社区）以下没有分区指标（网格不单独统计）。",
                   "en": "No rankings below a village (grids are not counted on their own)."},
    "departments": {"zh": "部门排名", "en": "Departments"},
    "department_level": {"zh": "部门层级", "en": "Department level"},
    "level.city": {"zh": "市级", "en": "City"},
    "level.town": {"zh": "镇街", "en": "Town"},
    "level.village": {"zh": "村（社区）", "en": "Village"},
    "too_few": {"zh": "案件不足 {n} 件，不参与排名", "en": "Too few cases (under {n}): not ranked"},
    "status.ranked": {"zh": "已排名", "en": "ranked"},
    "status.too_few": {"zh": "案件不足", "en": "too few cases"},
    "nobody_ranked": {"zh": "没有达到 {n} 件的对象。", "en": "None has {n} cases or more."},
    "col.rank": {"zh": "排名", "en": "Rank"},
    "col.name": {"zh": "名称", "en": "Name"},
    "col.code": {"zh": "代码", "en": "Code"},
    "col.cases": {"zh": "案件数", "en": "Cases"},
    "col.status": {"zh": "状态", "en": "Status"},
    "col.indicator": {"zh": "指标", "en": "Indicator"},
    "col.key": {"zh": "字段", "en": "Key"},
    "col.value": {"zh": "数值", "en": "Value"},
    "col.unit": {"zh": "单位", "en": "Unit"},
    "col.numerator": {"zh": "分子", "en": "Numerator"},
    "col.denominator": {"zh": "分母", "en": "Denominator"},
    "col.previous": {"zh": "上期数值", "en": "Previous period"},
    "col.change": {"zh": "变化", "en": "Change"},
    "col.definition": {"zh": "定义", "en": "Definition"},
    "col.day": {"zh": "日期", "en": "Date"},
    "about": {"zh": "说明", "en": "About"},
    "about.area": {"zh": "区域", "en": "Area"},
    "about.level": {"zh": "层级", "en": "Level"},
    "about.range": {"zh": "日期范围", "en": "Date range"},
    "about.previous": {"zh": "对比上期", "en": "Compared with"},
    "about.indicator": {"zh": "排名指标", "en": "Ranked on"},
    "about.min_cases": {"zh": "参与排名的最少案件数", "en": "Minimum cases to be ranked"},
    "about.exported": {"zh": "导出时间", "en": "Exported at"},
    "export": {"zh": "导出", "en": "Export"},
    "export.csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "export.xlsx": {"zh": "导出 Excel", "en": "Export Excel"},
    "export.failed": {"zh": "导出失败：{reason}", "en": "Export failed: {reason}"},
    "no_data": {"zh": "该日期范围内没有数据。", "en": "No data for this range."},
    "no_data.latest": {"zh": "最近有数据的日期：{day}。", "en": "The latest day with figures is {day}."},
    "no_metrics": {"zh": "指标表还是空的：每日指标由后台任务计算，也可运行 "
                         "python -m workers metrics backfill --days N 补算。",
                   "en": "The metric tables are empty: the background jobs compute them, or run "
                         "python -m workers metrics backfill --days N."},
    "today_partial": {"zh": "今天的数据还在累计中（每几分钟更新）。",
                      "en": "Today's figures are still accumulating (refreshed every few minutes)."},
    "forbidden": {"zh": "无权查看该区域的指标。", "en": "You may not read this area's metrics."},
    "login_first": {"zh": "请重新登录（需领导或管理员账号）。",
                    "en": "Log in again (as a leader or an admin)."},
    "not_found": {"zh": "没有这个区域。", "en": "No such area."},
    "range_to": {"zh": "至", "en": "to"},
    "sheet.indicators": {"zh": "指标", "en": "Indicators"},
    "sheet.areas": {"zh": "区域排名", "en": "Area rankings"},
    "sheet.departments": {"zh": "部门排名", "en": "Department rankings"},
    "sheet.trend": {"zh": "每日趋势", "en": "Trend"},
}


def pick_language(requested: str | None) -> str:
    return requested if requested in LANGUAGES else "zh"


def t(key: str, lang: str, **values) -> str:
    text = TEXT[key][lang]
    return text.format(**values) if values else text


def name_of(row, lang: str) -> str:
    """An area's or department's name in the page's language (Chinese if no English)."""
    return (row.name_en or row.name_zh) if lang == "en" else row.name_zh
