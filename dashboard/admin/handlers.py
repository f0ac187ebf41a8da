"""What each admin callback does, given the logged-in actor and what the browser sent:
validate, change in one transaction, and answer with a plain result the page shows.

A result is a dict: {"ok", "code" (created, saved, unchanged, deleted, deactivated,
reactivated, password, invalid, conflict, forbidden, not_found), "message" (lines of text in
the page's language), "errors" ({field: reason text}), "reasons" ({field: reason key}),
"current" (for a conflict: the record as it is now), "loaded" (after a save: the record as
it is now, the edit form's new "as loaded"), "id"}. Nothing raises to the page; a refused
change is rolled back whole, so the database is as it was.

Every handler takes `actor` from dashboard.auth.access (the callback's login), never from
the browser, and the data modules check role and jurisdiction again on every record.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.admin import items, rules, users
from dashboard.admin.audit import take_snapshot
from dashboard.admin.forms import (
    Conflict,
    ItemChange,
    NewItem,
    NewUser,
    PasswordReset,
    Refused,
    RuleForm,
    UserChange,
    parse,
)
from dashboard.admin.scope import CityAdminOnly, require_admin, require_city_admin
from dashboard.admin.text import ENTITIES, field_label, label, t, why
from dashboard.admin.views import build_value
from dashboard.api.context import get_services, get_session
from dashboard.auth.logins import end_all_logins, forget_logins, list_open_logins
from models.actor import Actor
from models.errors import DomainError, Forbidden, NotFound
from models.types import utcnow

USER_CODES = {"create": "created", "update": "saved", "deactivate": "deactivated",
              "reactivate": "reactivated", "set_password": "password", None: "unchanged"}


# ---------------------------------------------------------------- results

def build_result(code: str, lang: str, *, what: str = "", **fields) -> dict:
    ok = code in ("created", "saved", "unchanged", "deleted", "deactivated", "reactivated", "password")
    message = [t("msg.unchanged", lang)] if code == "unchanged" else (
        [t(f"msg.{code}", lang, what=what)] if ok else [])
    return {"ok": ok, "code": code, "message": message, "errors": {}, "reasons": {},
            "current": None, "loaded": None, "id": None, **fields}


def build_denied(lang: str) -> dict:
    """For a callback with no admin logged in (the login ended, or another role)."""
    return build_result("denied", lang, message=[t("msg.denied", lang)])


def build_failure(exc: DomainError, lang: str) -> dict:
    if isinstance(exc, Refused):
        errors = {f: f"{field_label(f, lang)}：{why(k, lang, p)}" if lang == "zh"
                  else f"{field_label(f, lang)} {why(k, lang, p)}" for f, (k, p) in exc.errors.items()}
        return build_result("invalid", lang, message=[t("msg.invalid", lang), *errors.values()],
                            errors=errors, reasons={f: k for f, (k, _) in exc.errors.items()})
    if isinstance(exc, Conflict):
        lines = [t("msg.conflict", lang), describe(exc.current, lang), t("msg.conflict.reload", lang)] \
            if exc.current else [t("msg.conflict.gone", lang), t("msg.conflict.reload", lang)]
        return build_result("conflict", lang, message=lines, current=exc.current)
    if isinstance(exc, Forbidden):
        key = "forbidden.city" if isinstance(exc, CityAdminOnly) else "forbidden.role"
        return build_result("forbidden", lang, message=[t("msg.forbidden", lang, detail=t(key, lang))])
    if isinstance(exc, NotFound):
        return build_result("not_found", lang, message=[t("msg.not_found", lang)])
    return build_result("invalid", lang, message=[exc.detail])


def describe(snapshot: dict | None, lang: str) -> str:
    """A record's snapshot as one line: "Name: 张伟 · Role: leader · …"."""
    if not snapshot:
        return ""
    names = current_app.extensions["grid_names"]
    return " · ".join(f"{field_label(k, lang)}: {build_value(k, v, lang, names)}" for k, v in snapshot.items())


def name_user(snapshot: dict) -> str:
    return f"{snapshot['username']}（{snapshot['name']}）"


# ---------------------------------------------------------------- the transaction

def run_change(lang: str, work: Callable[[Session, datetime], dict], now: datetime | None = None) -> dict:
    """Run `work` in one transaction under the app's write lock and commit; any refusal
    rolls all of it back and becomes a result."""
    session = get_session()
    try:
        with get_services().write_lock:
            result = work(session, now or utcnow())
            session.commit()
    except DomainError as exc:
        session.rollback()
        return build_failure(exc, lang)
    except IntegrityError:  # a unique key another admin took a moment before (a username, a code)
        session.rollback()
        return build_result("conflict", lang, message=[t("msg.conflict.race", lang),
                                                       t("msg.conflict.reload", lang)])
    except BaseException:
        session.rollback()
        raise
    return result


def end_logins(session: Session, done: users.Done) -> None:
    """Before the commit: end the person's logins (deactivation, new password: they must log
    in again), or for a new role, area or name drop the Redis copies of their logins right
    after the commit, so the change applies from their next request without logging them
    out (dashboard/auth/logins.py)."""
    redis = get_services().redis
    if done.ends_logins:
        end_all_logins(session, redis, done.staff.id)
    elif done.change == "update":
        open_ids = list_open_logins(session, done.staff.id)
        if open_ids:
            event.listen(session, "after_commit", lambda _s: forget_logins(redis, open_ids), once=True)


# ---------------------------------------------------------------- users

def create_user(actor: Actor | None, values: dict, lang: str, now: datetime | None = None) -> dict:
    def work(session, at):
        require_admin(actor)
        done = users.do_create_user(session, actor, parse(NewUser, values), at)
        snapshot = take_snapshot(done.staff)
        return build_result("created", lang, what=name_user(snapshot), id=done.staff.id, loaded=snapshot)
    return run_change(lang, work, now)


def change_user(actor: Actor | None, action: str, staff_id, loaded, values: dict, lang: str,
                now: datetime | None = None) -> dict:
    """action: "save" (name, role, area), "active" (flip), or "password" (reset)."""
    def work(session, at):
        require_admin(actor)
        if action == "save":
            done = users.do_update_user(session, actor, staff_id, loaded, parse(UserChange, values), at)
        elif action == "active":
            wanted = not bool((loaded or {}).get("active")) if isinstance(loaded, dict) else None
            done = users.do_set_active(session, actor, staff_id, loaded, wanted, at)
        elif action == "password":
            done = users.do_reset_password(session, actor, staff_id, loaded, parse(PasswordReset, values), at)
        else:
            raise NotFound(f"no action {action!r}")
        end_logins(session, done)
        session.flush()
        session.refresh(done.staff)
        snapshot = take_snapshot(done.staff)
        return build_result(USER_CODES[done.change], lang, what=name_user(snapshot), id=done.staff.id,
                            loaded=snapshot)
    return run_change(lang, work, now)


# ---------------------------------------------------------------- items

def create_item(actor: Actor | None, values: dict, lang: str, now: datetime | None = None) -> dict:
    def work(session, at):
        require_city_admin(actor)
        item = items.do_create_item(session, actor, parse(NewItem, values), at)
        return build_result("created", lang, what=f"{item.code} {item.name_zh}", id=item.id,
                            loaded=take_snapshot(item))
    result = run_change(lang, work, now)
    forget_names(result)
    return result


def change_item(actor: Actor | None, item_id, loaded, values: dict, lang: str,
                now: datetime | None = None) -> dict:
    def work(session, at):
        require_city_admin(actor)
        change = items.do_update_item(session, actor, item_id, loaded, parse(ItemChange, values), at)
        item = items.get_item(session, item_id)
        session.refresh(item)
        return build_result("saved" if change else "unchanged", lang, what=f"{item.code} {item.name_zh}",
                            id=item.id, loaded=take_snapshot(item))
    result = run_change(lang, work, now)
    forget_names(result)
    return result


def forget_names(result: dict) -> None:
    """A new or renamed item shows at once on this process's walls and lists (other
    processes see the change's version within names.CHECK_SECONDS and reload)."""
    if result["ok"] and result["code"] != "unchanged":
        current_app.extensions["grid_names"].clear()


# ---------------------------------------------------------------- time-limit rules

def create_rule(actor: Actor | None, values: dict, lang: str, now: datetime | None = None) -> dict:
    def work(session, at):
        require_city_admin(actor)
        rule = rules.do_create_rule(session, actor, parse(RuleForm, values), at)
        return build_result("created", lang, what=f"{label(ENTITIES, 'sla_rule', lang)} #{rule.id}",
                            id=rule.id, loaded=take_snapshot(rule))
    return run_change(lang, work, now)


def change_rule(actor: Actor | None, rule_id, loaded, values: dict, lang: str,
                now: datetime | None = None) -> dict:
    def work(session, at):
        require_city_admin(actor)
        change = rules.do_update_rule(session, actor, rule_id, loaded, parse(RuleForm, values), at)
        rule = rules.get_rule(session, rule_id)
        session.refresh(rule)
        return build_result("saved" if change else "unchanged", lang,
                            what=f"{label(ENTITIES, 'sla_rule', lang)} #{rule.id}", id=rule.id,
                            loaded=take_snapshot(rule))
    return run_change(lang, work, now)


def delete_rule(actor: Actor | None, rule_id, loaded, lang: str, now: datetime | None = None) -> dict:
    def work(session, at):
        before = rules.do_delete_rule(session, actor, rule_id, loaded, at)
        return build_result("deleted", lang, what=f"{label(ENTITIES, 'sla_rule', lang)} #{before['id']}",
                            id=before["id"])
    return run_change(lang, work, now)
