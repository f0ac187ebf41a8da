"""The page's figures as rows of cells: the same rows are drawn on screen and exported,
so an export holds exactly what the screen shows (same rounding, same order).

Rates are shown in percent with one decimal, handling times in hours with one decimal,
counts as integers; the change against the previous period is in those units (percentage
points for rates)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard.metrics_page.data import MetricsView
from dashboard.metrics_page.definitions import COUNT, HOURS, INDICATORS, RATE, SHOWN, TREND, Indicator
from dashboard.metrics_page.rankings import Ranking
from dashboard.metrics_page.text import name_of, t
from models.metrics import RATES
from models.sla import CITY_ZONE

Cell = str | int | float | None


@dataclass
class Table:
    key: str               # "about", "indicators", "areas", "departments", "trend"
    title: str
    columns: list[str]
    rows: list[list[Cell]]


# ---------------------------------------------------------------- numbers as shown

def get_shown(indicator: Indicator, raw) -> int | float | None:
    """The number the page shows for a raw figure (a share, seconds, or a count)."""
    if raw is None:
        return None
    if indicator.unit == RATE:
        return round(float(raw) * 100, 1)
    if indicator.unit == HOURS:  # PostgreSQL's AVG/SUM give Decimal: the same figure as float
        return round(float(raw) / 3600, 1)
    return int(raw)


def get_change(indicator: Indicator, now, before) -> int | float | None:
    shown, earlier = get_shown(indicator, now), get_shown(indicator, before)
    if shown is None or earlier is None:
        return None
    return shown - earlier if indicator.unit == COUNT else round(shown - earlier, 1)


def get_unit(indicator: Indicator, lang: str) -> str:
    return {RATE: "%", HOURS: t("hours", lang), COUNT: t("pieces", lang)}[indicator.unit]


def format_shown(indicator: Indicator, shown, lang: str) -> str:
    if shown is None:
        return t("no_figure", lang)
    if indicator.unit == RATE:
        return f"{shown:.1f}%"
    if indicator.unit == HOURS:
        return f"{shown:.1f} {t('hours', lang)}"
    return f"{shown:,}"


def get_parts(key: str, figures: dict) -> tuple[Cell, Cell]:
    """(numerator, denominator) behind a shown rate or mean, in the units shown; the
    denominator of a percentile is the number of closes it is taken over."""
    rate = RATES.get(key)
    if key in ("handling_median_s", "handling_p90_s"):
        return None, int(figures["closed"])
    if rate is None:
        return None, None
    cases = rate.cases(figures)
    numerator = sum(int(figures[c] or 0) for c in rate.numerator)
    if rate.complement:
        numerator = cases - numerator
    if INDICATORS[key].unit == HOURS:
        return round(numerator / 3600, 1), cases
    return numerator, cases


# ---------------------------------------------------------------- rows

def list_indicator_rows(view: MetricsView, lang: str) -> list[dict]:
    """One dict per indicator shown: name, shown value, unit, parts, previous, change."""
    rows = []
    for key in SHOWN:
        indicator = INDICATORS[key]
        shown = get_shown(indicator, view.current[key])
        numerator, denominator = get_parts(key, view.current)
        rows.append({"key": key, "name": indicator.name(lang), "value": shown,
                     "text": format_shown(indicator, shown, lang), "unit": get_unit(indicator, lang),
                     "numerator": numerator, "denominator": denominator,
                     "previous": get_shown(indicator, view.before[key]),
                     "change": get_change(indicator, view.current[key], view.before[key]),
                     "definition": indicator.definition(lang), "better": indicator.better})
    return rows


def build_indicator_table(view: MetricsView, lang: str) -> Table:
    columns = ["indicator", "key", "value", "unit", "numerator", "denominator", "previous",
               "change", "definition"]
    rows = [[r["name"], r["key"], r["value"], r["unit"], r["numerator"], r["denominator"],
             r["previous"], r["change"], r["definition"]] for r in list_indicator_rows(view, lang)]
    return Table("indicators", t("sheet.indicators", lang), [t(f"col.{c}", lang) for c in columns], rows)


def ranking_value_label(indicator: str, lang: str) -> str:
    item = INDICATORS[indicator]
    return f"{item.name(lang)} ({get_unit(item, lang)})"


def list_ranking_rows(ranking: Ranking, lang: str) -> list[list[Cell]]:
    """[rank, name, code, value, cases, status]: the ranked first, then those with too few."""
    indicator = INDICATORS[ranking.indicator]
    rows = []
    for entry in ranking.ranked + ranking.too_few:
        status = "ranked" if entry["rank"] is not None else "too_few"
        rows.append([entry["rank"], entry["name_en"] if lang == "en" else entry["name_zh"],
                     entry["code"], get_shown(indicator, entry["value"]), entry["cases"],
                     t(f"status.{status}", lang)])
    return rows


def build_ranking_table(ranking: Ranking, key: str, lang: str) -> Table:
    columns = [t("col.rank", lang), t("col.name", lang), t("col.code", lang),
               ranking_value_label(ranking.indicator, lang), t("col.cases", lang),
               t("col.status", lang)]
    return Table(key, t(f"sheet.{key}", lang), columns, list_ranking_rows(ranking, lang))


def build_trend_table(view: MetricsView, lang: str) -> Table:
    columns = [t("col.day", lang)] + [ranking_value_label(k, lang) for k in TREND]
    rows = [[entry["day"].isoformat()] + [get_shown(INDICATORS[k], entry[k]) for k in TREND]
            for entry in view.trend]
    return Table("trend", t("sheet.trend", lang), columns, rows)


def format_period(period, lang: str) -> str:
    return f"{period.start.isoformat()} {t('range_to', lang)} {period.end.isoformat()}"


def build_about_table(view: MetricsView, lang: str, exported_at: datetime) -> Table:
    rows = [
        [t("about.area", lang), " › ".join(name_of(a, lang) for a in view.trail)],
        [t("about.level", lang), t(f"level.{view.area.level}", lang)],
        [t("about.range", lang), format_period(view.period, lang)],
        [t("about.previous", lang), format_period(view.period.previous(), lang)],
        [t("about.indicator", lang), INDICATORS[view.indicator].name(lang)],
        [t("about.min_cases", lang), view.children.min_cases],
        [t("about.exported", lang), exported_at.astimezone(CITY_ZONE).strftime("%Y-%m-%d %H:%M:%S")],
    ]
    return Table("about", t("about", lang), [t("about", lang), t("col.value", lang)], rows)


def build_tables(view: MetricsView, lang: str, exported_at: datetime) -> list[Table]:
    """Every table on the page, in the order of the page: what an export writes."""
    return [build_about_table(view, lang, exported_at), build_indicator_table(view, lang),
            build_ranking_table(view.children, "areas", lang),
            build_ranking_table(view.departments, "departments", lang),
            build_trend_table(view, lang)]
