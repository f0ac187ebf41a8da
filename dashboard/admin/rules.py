"""Time-limit rules on /admin: list, create, edit, delete.

Rules hold for the whole city: every admin reads them, only a city admin changes them.
The rule set always keeps a fallback: for every stage and every priority, a rule with no
category and no item (one naming that priority, or one for any priority), so that
models.sla.SlaPolicy.resolve finds a limit for every incident. A change that would leave
a gap (deleting, re-scoping or re-staging the last such rule) is refused and writes nothing.

Concurrency: each change first locks the rules of the stages it touches (SELECT … FOR
UPDATE on PostgreSQL; SQLite has one writer at a time anyway), so two admins cannot each
delete one of the last two fallbacks, nor both add the same scope (SQL's unique key lets
NULLs repeat, so the duplicate check is ours).

A change applies to deadlines set from then on, in every process (models/sla.py reads
the rules' version, which the audit row moves). Deadlines already set stay: a time limit
is fixed when it is set.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.admin.audit import (
    check_loaded,
    delete_if_unchanged,
    record_change,
    take_snapshot,
    update_if_unchanged,
)
from dashboard.admin.forms import Refused, RuleForm
from dashboard.admin.scope import require_admin, require_city_admin
from models.actor import Actor
from models.catalogue import Category, Item, SlaRule
from models.enums import Priority, Stage
from models.errors import NotFound
from models.sla import forget_policy

STAGE_ORDER = {s: n for n, s in enumerate(Stage)}
PRIORITY_ORDER = {None: 0, **{p: n + 1 for n, p in enumerate(Priority)}}


def sort_key(rule: SlaRule):
    """Stage order, then the default scope before categories before items, then priority."""
    scope = 2 if rule.item_id else (1 if rule.category_id else 0)
    return (STAGE_ORDER[rule.stage], scope, rule.category_id or 0, rule.item_id or 0,
            PRIORITY_ORDER[rule.priority])


def list_rules(session: Session, actor: Actor, stage=None) -> list[SlaRule]:
    require_admin(actor)
    query = select(SlaRule)
    if isinstance(stage, str) and stage in {s.value for s in Stage}:
        query = query.where(SlaRule.stage == Stage(stage))
    return sorted(session.scalars(query), key=sort_key)


def get_rule(session: Session, rule_id) -> SlaRule:
    rule = session.get(SlaRule, rule_id) if isinstance(rule_id, int) and not isinstance(rule_id, bool) else None
    if rule is None:
        raise NotFound("no such rule", field="id")
    return rule


def lock_stages(session: Session, *stages: Stage) -> None:
    """Hold the rules of these stages until the transaction ends (see the module docstring)."""
    session.execute(select(SlaRule.id).where(SlaRule.stage.in_(set(stages))).with_for_update()).all()


def list_gaps(session: Session) -> list[tuple[Stage, Priority]]:
    """(stage, priority) pairs with no fallback rule, as the session sees the rules now."""
    session.flush()
    present = set(session.execute(select(SlaRule.stage, SlaRule.priority).where(
        SlaRule.category_id.is_(None), SlaRule.item_id.is_(None))).all())
    return [(stage, priority) for stage in Stage for priority in Priority
            if (stage, priority) not in present and (stage, None) not in present]


def check_fallbacks(session: Session, field: str) -> None:
    gaps = list_gaps(session)
    if gaps:
        stage, priority = gaps[0]
        raise Refused.one(field, "no_fallback", stage=stage.value, priority=priority.value)


def check_scope(session: Session, form: RuleForm, rule_id: int | None = None) -> None:
    """The category or item exists, and no other rule has this stage, priority and scope."""
    if form.category_id is not None and session.get(Category, form.category_id) is None:
        raise Refused.one("category_id", "no_category")
    if form.item_id is not None and session.get(Item, form.item_id) is None:
        raise Refused.one("item_id", "no_item")
    same = session.scalar(select(SlaRule.id).where(
        SlaRule.stage == form.stage, SlaRule.priority.is_not_distinct_from(form.priority),
        SlaRule.category_id.is_not_distinct_from(form.category_id),
        SlaRule.item_id.is_not_distinct_from(form.item_id), SlaRule.id != (rule_id or 0)))
    if same is not None:
        raise Refused.one("stage", "duplicate_rule", id=same)


def _values(form: RuleForm) -> dict:
    return {"stage": form.stage, "priority": form.priority, "category_id": form.category_id,
            "item_id": form.item_id, "minutes": form.minutes, "clock": form.clock}


def do_create_rule(session: Session, actor: Actor, form: RuleForm, now: datetime) -> SlaRule:
    require_city_admin(actor)
    lock_stages(session, form.stage)
    check_scope(session, form)
    rule = SlaRule(**_values(form))
    session.add(rule)
    session.flush()
    record_change(session, actor, "sla_rule", rule.id, "create", None, take_snapshot(rule), now)
    forget_policy(session)
    return rule


def do_update_rule(session: Session, actor: Actor, rule_id, loaded, form: RuleForm,
                   now: datetime) -> str | None:
    """"update", or None if nothing changed."""
    require_city_admin(actor)
    rule = get_rule(session, rule_id)
    lock_stages(session, rule.stage, form.stage)
    session.refresh(rule)
    before = check_loaded(rule, loaded)
    after = {**before, **{k: getattr(v, "value", v) for k, v in _values(form).items()}}
    if after == before:
        return None
    check_scope(session, form, rule.id)
    update_if_unchanged(session, rule, before, _values(form))
    check_fallbacks(session, next((f for f in ("stage", "category_id", "item_id")
                                   if before[f] != after[f]), "priority"))
    record_change(session, actor, "sla_rule", rule.id, "update", before, after, now)
    forget_policy(session)
    return "update"


def do_delete_rule(session: Session, actor: Actor, rule_id, loaded, now: datetime) -> dict:
    """Delete a rule (not the last fallback of a stage and priority); returns its snapshot."""
    require_city_admin(actor)
    rule = get_rule(session, rule_id)
    lock_stages(session, rule.stage)
    session.refresh(rule)
    before = check_loaded(rule, loaded)
    delete_if_unchanged(session, rule, before)
    check_fallbacks(session, "id")
    record_change(session, actor, "sla_rule", before["id"], "delete", before, None, now)
    forget_policy(session)
    return before
