"""Every indicator the metrics page shows: its name, unit, direction and definition, in
Chinese and English. The definitions follow docs/metrics.md (the formulas live in
models.metrics.RATES); this is the one place the page and the exports take them from."""
from __future__ import annotations

from dataclasses import dataclass

RATE, HOURS, COUNT = "rate", "hours", "count"


@dataclass(frozen=True)
class Indicator:
    key: str            # a key of models.metrics.get_range's result
    name_zh: str
    name_en: str
    unit: str           # RATE (shown in %), HOURS (stored in seconds), COUNT
    definition_zh: str
    definition_en: str
    better: str | None = "higher"  # "higher", "lower", or None when neither is better

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh

    def definition(self, lang: str) -> str:
        return self.definition_en if lang == "en" else self.definition_zh


_LATE_ZH = "某环节超时指完成前已记录该环节的超时且未消除。"
_LATE_EN = "Late means a breach of that stage was recorded at or before the completion."

INDICATORS: dict[str, Indicator] = {i.key: i for i in (
    Indicator("on_time_closure_rate", "按期结案率", "On-time closure rate", RATE,
              "按期结案数 ÷（结案数 + 期末超期未结数）。按期结案指结案前没有任何环节超时。"
              "超期未结的事件计入分母，拖着不结案不能抬高比率；期末超期数取范围最后一天的值。",
              "Closed on time ÷ (closed + open and overdue at the end of the range). Closed on "
              "time: no time limit was breached before the close. Overdue open work counts in the "
              "denominator, so leaving late incidents open cannot raise the rate."),
    Indicator("closure_rate", "结案率", "Closure rate", RATE,
              "结案数 ÷ 受理数，均为期内发生的次数。单日可能超过100%（当天结的旧案多于新受理的），宜按一段时间看。",
              "Closed ÷ accepted, both counted as they happen in the range. On a single day it can "
              "exceed 100% (more old work closed than new work taken in); read it over a range."),
    Indicator("dispatch_accuracy", "派遣准确率", "Dispatch accuracy", RATE,
              "1 − 退回数 ÷ 派遣数。每次派遣（含重新派遣）都计数；退回记在被派遣的部门名下。",
              "1 − returned ÷ dispatched. Every dispatch counts, re-dispatches too; a return is "
              "charged to the department it was dispatched to."),
    Indicator("rework_rate", "返工率", "Rework rate", RATE,
              "返工数 ÷ 现场核查数：部门办结后现场核查不合格、退回重办的比例。自处置事件不计。",
              "Reworked ÷ checked: the share of on-site checks after a department's resolve that "
              "sent the work back. Self-handled incidents are not counted.", "lower"),
    Indicator("postponement_rate", "延期率", "Postponement rate", RATE,
              "批准延期数 ÷ 派遣数：有新期限的延期才计数，只挂起不算。",
              "Approved deadline extensions ÷ dispatches. Parking without a new deadline does not "
              "count.", "lower"),
    Indicator("self_handled_share", "自处置率", "Self-handled share", RATE,
              "自处置数 ÷ 受理数：网格员现场自行处置的事件占纳入处置事件的比例。",
              "Self-handled ÷ accepted: the incidents taken in that the grid worker settled on "
              "the spot."),
    Indicator("dispute_resolution_rate", "化解率", "Dispute resolution rate", RATE,
              "调解成功结案的矛盾纠纷数 ÷ 结案的矛盾纠纷数。",
              "Disputes closed as mediated ÷ disputes closed."),
    Indicator("satisfaction_rate", "满意率", "Satisfaction", RATE,
              "满意数 ÷ 收到的评价数。结案时或之后补评均计入，补评计在收到评价的那天。",
              "Satisfied ÷ feedback received, at closing or by a later rating (counted on the day "
              "it arrives)."),
    Indicator("accept_on_time_rate", "受理按时率", "Accept on time", RATE,
              "按时受理数 ÷ 受理环节完成数（受理或自处置完成该环节）。" + _LATE_ZH,
              "Accept stages completed on time ÷ completed (by accept or self-handle). " + _LATE_EN),
    Indicator("dispatch_on_time_rate", "派遣按时率", "Dispatch on time", RATE,
              "按时派遣数 ÷ 派遣环节完成数（派遣完成该环节）。" + _LATE_ZH,
              "Dispatch stages completed on time ÷ completed (by dispatch). " + _LATE_EN),
    Indicator("handle_on_time_rate", "处置按时率", "Handling on time", RATE,
              "按时办结数 ÷ 处置环节完成数（部门办结完成该环节；返工后原处置期限不变）。" + _LATE_ZH,
              "Handling stages completed on time ÷ completed (by resolve; after a rework the "
              "original handling deadline stands). " + _LATE_EN),
    Indicator("check_on_time_rate", "核查按时率", "Check on time", RATE,
              "按时核查数 ÷ 核查环节完成数（结案或返工完成该环节，核查不合格也是完成了核查）。" + _LATE_ZH,
              "Check stages completed on time ÷ completed (by close or rework: a failed check is "
              "still a check made). " + _LATE_EN),
    Indicator("handling_mean_s", "平均办理时长", "Mean handling time", HOURS,
              "从上报到结案的时长之和 ÷ 期内结案次数，在结案当天计入，自处置事件也计算。",
              "Report-to-close time summed over the range's close events ÷ closes; counted on the "
              "close day, self-handled incidents included.", "lower"),
    Indicator("handling_median_s", "办理时长中位数", "Median handling time", HOURS,
              "期内每次结案的上报至结案时长的中位数（线性插值，按整个范围的结案重新计算）。",
              "Median report-to-close time of the range's close events (linear interpolation, "
              "recomputed over the whole range).", "lower"),
    Indicator("handling_p90_s", "办理时长90分位", "90th percentile handling time", HOURS,
              "期内每次结案的上报至结案时长的第90百分位数（线性插值）。",
              "90th percentile of the report-to-close time of the range's close events (linear "
              "interpolation).", "lower"),
    Indicator("reported", "上报数", "Reported", COUNT,
              "期内上报的事件数（不含无效、重复和非本单位事项）。",
              "Reports in the range (invalid, duplicate and not-ours incidents left out).", None),
    Indicator("accepted", "受理数", "Accepted", COUNT,
              "期内受理和自处置的次数：纳入处置的事件。",
              "Accept and self-handle events in the range: incidents taken into the loop.", None),
    Indicator("closed", "结案数", "Closed", COUNT,
              "期内结案的次数（重新打开后再次结案再计一次）。",
              "Close events in the range (again after a reopening).", None),
    Indicator("open_end", "期末在办数", "Open at end", COUNT,
              "范围最后一天结束时未结案的事件数。",
              "Incidents open (not closed, not left out) at the end of the range's last day.", None),
    Indicator("overdue_end", "期末超期数", "Overdue at end", COUNT,
              "范围最后一天结束时已超时且未结的事件数。",
              "Open incidents with a breach running at the end of the range's last day.", "lower"),
    Indicator("escalated", "升级数", "Escalations", COUNT,
              "人工升级次数加上超时引起的自动升级次数（市级超时无法再升级）。",
              "Manual escalations plus breaches that raised the level (a breach at city level "
              "cannot).", "lower"),
    Indicator("reassigned", "改派数", "Reassignments", COUNT,
              "期内改派给其他部门的次数。", "Reassign events in the range.", "lower"),
    Indicator("breached", "超时次数", "Breaches", COUNT,
              "期内记录的环节超时次数（与大屏变红的依据相同）。",
              "Breaches recorded in the range (the same records that turn the wall red).", "lower"),
)}

# What the page shows, in order: the cards, the per-stage rates, the trend.
CARDS = ("on_time_closure_rate", "closure_rate", "dispatch_accuracy", "rework_rate",
         "postponement_rate", "self_handled_share", "dispute_resolution_rate",
         "satisfaction_rate", "handling_mean_s", "handling_median_s", "handling_p90_s",
         "reported", "accepted", "closed", "open_end", "overdue_end", "escalated",
         "reassigned", "breached")
STAGES = ("accept", "dispatch", "handle", "check")
STAGE_RATES = tuple(f"{stage}_on_time_rate" for stage in STAGES)
SHOWN = CARDS + STAGE_RATES
TREND = ("reported", "closed", "overdue_end", "on_time_closure_rate")
RANKABLE = ("on_time_closure_rate", "closure_rate", *STAGE_RATES, "dispatch_accuracy",
            "rework_rate", "postponement_rate", "self_handled_share",
            "dispute_resolution_rate", "satisfaction_rate", "handling_mean_s")
