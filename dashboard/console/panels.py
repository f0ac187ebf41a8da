"""Pure builders for the console's messages, the shift handover panel and the help overlay.

A conflict message says plainly that someone else got there first, what the incident is
now (state and version) and who did what last, so a lead never wonders whether their
action went through. Like views.py, every piece of text is a plain string child.
"""
from __future__ import annotations

from datetime import datetime

from dash import html

from dashboard.console import ids
from dashboard.console.actions import Outcome
from dashboard.console.text import ACTIONS, FIELDS, ROLES, SHORTCUTS, STATES, label, t
from dashboard.console.views import format_local
from models.actor import Actor
from models.org import ShiftHandover

SUMMARY_KEYS = ("new", "closed", "open", "overdue", "escalated", "alarms")


# ---------------------------------------------------------------- action messages

def build_latest_line(latest: dict | None, lang: str) -> str | None:
    if not latest:
        return None
    return t("msg.conflict.latest", lang, who=latest["actor_name"],
             role=label(ROLES, latest["actor_role"], lang), action=label(ACTIONS, latest["action"], lang),
             when=format_local(datetime.fromisoformat(latest["at"]), "%m-%d %H:%M:%S"))


def build_outcome_lines(o: Outcome, lang: str) -> list[str]:
    """The message for one outcome, as lines of text."""
    action = label(ACTIONS, o.action, lang)
    if o.ok:
        return [t("msg.ok", lang, id=o.incident_id, action=action, state=label(STATES, o.state, lang),
                  v=o.version)]
    if o.error == "version_conflict":
        lines = [t("msg.conflict", lang, id=o.incident_id)]
        if o.state is not None:
            lines.append(t("msg.conflict.now", lang, state=label(STATES, o.state, lang), v=o.version))
        lines.append(build_latest_line(o.latest, lang))
        lines.append(t("msg.conflict.reload", lang))
        return [line for line in lines if line]
    if o.error == "illegal_transition":
        return [t("msg.illegal", lang, id=o.incident_id, state=label(STATES, o.state, lang),
                  action=action)]
    if o.error == "invalid":
        return [t("msg.invalid", lang, field=label(FIELDS, o.field, lang), detail=o.detail)]
    if o.error == "forbidden":
        return [t("msg.forbidden", lang, detail=o.detail)]
    if o.error == "not_found":
        return [t("msg.not_found", lang)]
    return [o.detail or o.error or "?"]


def build_outcome_message(o: Outcome, lang: str) -> html.Div:
    kind = "ok" if o.ok else ("conflict" if o.error == "version_conflict" else "error")
    return html.Div([html.Div(line) for line in build_outcome_lines(o, lang)],
                    className=f"console-msg msg-{kind}", role="alert",
                    **{"data-error": o.error or "", "data-field": o.field or ""})


def build_batch_message(outcomes: list[Outcome], lang: str) -> html.Div:
    ok = [o for o in outcomes if o.ok]
    items = [html.Li(t("batch.ok", lang, id=o.incident_id) if o.ok else
                     " ".join(build_outcome_lines(o, lang)),
                     className="batch-ok" if o.ok else "batch-bad",
                     **{"data-id": str(o.incident_id), "data-error": o.error or ""})
             for o in outcomes]
    kind = "ok" if len(ok) == len(outcomes) else "conflict"
    return html.Div([html.Div(t("batch.result", lang, ok=len(ok), bad=len(outcomes) - len(ok))),
                     html.Ul(items)], className=f"console-msg msg-{kind}", role="alert")


def build_text_message(text: str, kind: str = "error") -> html.Div:
    return html.Div(text, className=f"console-msg msg-{kind}", role="alert")


# ---------------------------------------------------------------- handover

def build_summary(summary: dict, start: datetime, end: datetime, lang: str) -> html.Div:
    counts = [html.Div([html.Div(str(summary.get(k, 0)), className="hs-value"),
                        html.Div(t(f"summary.{k}", lang), className="hs-label")],
                       className=f"hs-count hs-{k}" + (" hs-nonzero" if summary.get(k) else ""),
                       **{"data-key": k}) for k in SUMMARY_KEYS]
    overdue = summary.get("overdue_ids") or []
    return html.Div([
        html.Div(t("handover.span", lang, start=format_local(start, "%m-%d %H:%M"),
                   end=format_local(end, "%m-%d %H:%M")), className="hs-span"),
        html.Div(counts, className="hs-counts"),
        html.Div(f"{t('summary.overdue_ids', lang)}: " + ", ".join(f"#{i}" for i in overdue),
                 className="hs-overdue") if overdue else None,
    ], className="handover-summary")


def build_pending(pending: list[tuple[ShiftHandover, str]], actor: Actor, lang: str) -> list:
    if not pending:
        return [html.Div(t("handover.none", lang), className="console-muted")]
    cards = []
    for handover, name in pending:
        mine = handover.outgoing_id == actor.id
        cards.append(html.Div([
            html.Div([t("handover.by", lang, name=name, at=format_local(handover.created_at)),
                      t("handover.mine", lang) if mine else ""], className="hp-head"),
            build_summary(handover.summary or {}, handover.shift_start, handover.shift_end, lang),
            html.P(handover.notes, className="hp-notes") if handover.notes else None,
            None if mine else html.Button(t("handover.ack", lang), n_clicks=0, className="console-act",
                                          id={"type": ids.HANDOVER_ACK, "id": handover.id}),
        ], className="handover-card", **{"data-handover": str(handover.id)}))
    return cards


# ---------------------------------------------------------------- help

def build_help(lang: str) -> html.Div:
    rows = [html.Tr([html.Td(html.Kbd(key)), html.Td(zh if lang == "zh" else en)])
            for key, zh, en in SHORTCUTS]
    return html.Div([html.H2(t("help", lang)), html.Table(html.Tbody(rows))],
                    id=ids.HELP, className="console-help", role="dialog")
