"""The console's words, Chinese first (`?lang=en` for English), like the walls.

Labels for states, actions, roles, levels and stage statuses live here once, so the queue,
the drawer and the messages name things the same way.
"""
from __future__ import annotations

from dashboard.wall.i18n import LANGUAGES, pick_language, pick_pair, translate  # noqa: F401  (re-exported)

TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "值班长工作台", "en": "Shift lead console"},
    "queue": {"zh": "待办队列", "en": "Queue"},
    "queue.count": {"zh": "共 {n} 件", "en": "{n} incidents"},
    "filter.state": {"zh": "状态（默认：在办）", "en": "State (default: open)"},
    "filter.category": {"zh": "类别", "en": "Category"},
    "filter.level": {"zh": "主办层级", "en": "Owning level"},
    "filter.department": {"zh": "部门", "en": "Department"},
    "filter.overdue": {"zh": "只看超时", "en": "Overdue only"},
    "col.id": {"zh": "编号", "en": "ID"},
    "col.item": {"zh": "事项", "en": "Item"},
    "col.summary": {"zh": "摘要", "en": "Summary"},
    "col.area": {"zh": "位置", "en": "Area"},
    "col.state": {"zh": "状态", "en": "State"},
    "col.level": {"zh": "层级", "en": "Level"},
    "col.department": {"zh": "部门", "en": "Department"},
    "col.deadline": {"zh": "期限", "en": "Deadline"},
    "col.left": {"zh": "剩余", "en": "Time left"},
    "col.alarm": {"zh": "告警", "en": "Alarm"},
    "alarm.flag": {"zh": "⚠ 待确认", "en": "⚠ unacked"},
    "left.remaining": {"zh": "剩 {t}", "en": "{t} left"},
    "left.overdue": {"zh": "超时 {t}", "en": "{t} over"},
    "left.paused": {"zh": "已暂停", "en": "paused"},
    "unit.d": {"zh": "天", "en": "d "},
    "unit.h": {"zh": "时", "en": "h "},
    "unit.m": {"zh": "分", "en": "m"},
    "batch": {"zh": "批量改派", "en": "Batch reassign"},
    "batch.selected": {"zh": "已选 {n} 件：{ids}", "en": "{n} selected: {ids}"},
    "batch.none": {"zh": "在队列中勾选事件（x 键）后可批量改派", "en": "Tick incidents (x) to reassign them together"},
    "batch.go": {"zh": "改派所选", "en": "Reassign selected"},
    "batch.ok": {"zh": "#{id} 已改派", "en": "#{id} reassigned"},
    "batch.result": {"zh": "批量改派：成功 {ok} 件，未成功 {bad} 件", "en": "Batch: {ok} reassigned, {bad} not"},
    "drawer.close": {"zh": "关闭 (Esc)", "en": "Close (Esc)"},
    "drawer.empty": {"zh": "在队列中选择事件（j/k 或点击）查看详情", "en": "Pick an incident (j/k or click)"},
    "drawer.version": {"zh": "版本 {v}", "en": "version {v}"},
    "drawer.reported": {"zh": "上报于 {t}", "en": "reported {t}"},
    "drawer.stages": {"zh": "各环节时限", "en": "Time limits by stage"},
    "drawer.timeline": {"zh": "处置记录", "en": "Audit timeline"},
    "drawer.location": {"zh": "位置", "en": "Location"},
    "drawer.actions": {"zh": "操作", "en": "Actions"},
    "drawer.no_actions": {"zh": "当前状态下没有可执行的操作", "en": "No action is possible in this state"},
    "drawer.suggested": {"zh": "（建议）", "en": " (suggested)"},
    "stage.deadline": {"zh": "期限", "en": "deadline"},
    "stage.done": {"zh": "完成", "en": "done"},
    "stage.rounds": {"zh": "第 {n} 轮", "en": "round {n}"},
    "stage.over": {"zh": "超 {t}", "en": "{t} over"},
    "form.department": {"zh": "部门", "en": "Department"},
    "form.deadline": {"zh": "期限（北京时间）", "en": "Deadline (Beijing time)"},
    "form.reason": {"zh": "理由", "en": "Reason"},
    "form.outcome": {"zh": "调解结果（矛盾纠纷必填）", "en": "Mediation outcome (disputes)"},
    "form.submit": {"zh": "确认", "en": "Confirm"},
    "form.cancel": {"zh": "取消", "en": "Cancel"},
    "outcome.mediated": {"zh": "调解成功", "en": "Mediated"},
    "outcome.failed": {"zh": "调解未成功", "en": "Not mediated"},
    "msg.ok": {"zh": "#{id} {action}：成功，现为「{state}」（版本 {v}）",
               "en": "#{id} {action}: done, now {state} (version {v})"},
    "msg.conflict": {"zh": "其他人已先修改了事件 #{id}，您的操作未执行，没有覆盖任何内容。",
                     "en": "Someone else changed incident #{id} first; your action was not applied "
                           "and nothing was overwritten."},
    "msg.conflict.now": {"zh": "当前状态「{state}」，版本 {v}。", "en": "It is now {state}, version {v}."},
    "msg.conflict.latest": {"zh": "最近一次：{who}（{role}）{when} {action}",
                            "en": "Latest: {who} ({role}) {action} at {when}"},
    "msg.conflict.reload": {"zh": "详情已刷新，请核对后再操作。", "en": "The drawer has been reloaded; check it and try again."},
    "msg.illegal": {"zh": "#{id} 当前为「{state}」，不能{action}。", "en": "#{id} is {state}: it cannot be {action}ed."},
    "msg.forbidden": {"zh": "无权操作：{detail}", "en": "Not allowed: {detail}"},
    "msg.invalid": {"zh": "请检查「{field}」：{detail}", "en": "Check \u201c{field}\u201d: {detail}"},
    "msg.not_found": {"zh": "找不到该事件或不在您的辖区", "en": "No such incident in your jurisdiction"},
    "msg.denied": {"zh": "登录已失效或无权使用值班长工作台，请重新登录。",
                   "en": "Your session has ended or you may not use the console; please log in again."},
    "msg.pick": {"zh": "请先选择一件事件", "en": "Pick an incident first"},
    "handover": {"zh": "交接班", "en": "Shift handover"},
    "handover.start": {"zh": "交班（生成本班小结）", "en": "Hand over (summarise my shift)"},
    "handover.notes": {"zh": "交班备注", "en": "Notes for the next lead"},
    "handover.submit": {"zh": "提交交班", "en": "Submit handover"},
    "handover.span": {"zh": "本班：{start} 至 {end}", "en": "Shift: {start} to {end}"},
    "handover.saved": {"zh": "交班已记录（#{id}），等待接班人确认", "en": "Handover #{id} recorded; awaiting the incoming lead"},
    "handover.pending": {"zh": "待接班确认", "en": "Awaiting acknowledgement"},
    "handover.none": {"zh": "没有待确认的交班", "en": "No handover awaiting you"},
    "handover.ack": {"zh": "接班确认", "en": "Acknowledge"},
    "handover.acked": {"zh": "已确认接班 #{id}", "en": "Handover #{id} acknowledged"},
    "handover.by": {"zh": "{name} 交班于 {at}", "en": "from {name} at {at}"},
    "handover.mine": {"zh": "（本人所交，待他人确认）", "en": " (yours, awaiting the next lead)"},
    "summary.new": {"zh": "新上报", "en": "New"},
    "summary.closed": {"zh": "已结案", "en": "Closed"},
    "summary.open": {"zh": "当前在办", "en": "Open now"},
    "summary.overdue": {"zh": "当前超时", "en": "Overdue now"},
    "summary.escalated": {"zh": "升级督办", "en": "Escalated"},
    "summary.alarms": {"zh": "未确认告警", "en": "Unacked alarms"},
    "summary.overdue_ids": {"zh": "超时事件", "en": "Overdue incidents"},
    "help": {"zh": "快捷键", "en": "Keyboard shortcuts"},
    "help.hint": {"zh": "按 ? 查看快捷键", "en": "Press ? for shortcuts"},
}

# key, zh, en: what console.js does on each key (the help panel lists them).
SHORTCUTS = (
    ("j / k", "下一件 / 上一件", "next / previous incident"),
    ("x", "勾选 / 取消勾选（批量改派）", "tick / untick for batch reassign"),
    ("a", "受理", "accept"),
    ("d", "派遣", "dispatch"),
    ("r", "改派", "reassign"),
    ("e", "升级督办", "escalate"),
    ("p", "延期", "postpone"),
    ("t", "退回", "return"),
    ("c", "核查结案", "close after the on-site check"),
    ("o", "重启", "reopen"),
    ("g", "确认告警", "acknowledge the alarm"),
    ("Ctrl+Enter", "在表单中：确认", "in a form: confirm"),
    ("Esc", "关闭表单 / 详情", "close the form / the drawer"),
    ("?", "显示 / 隐藏本帮助", "show / hide this help"),
)

STATES = {
    "REPORTED": ("上报", "Reported"), "ACCEPTED": ("已受理", "Accepted"),
    "DISPATCHED": ("已派遣", "Dispatched"), "ACKNOWLEDGED": ("已签收", "Acknowledged"),
    "IN_PROGRESS": ("处置中", "In progress"), "ON_HOLD": ("延期/挂账", "On hold"),
    "RESOLVED": ("待核查", "Resolved, to check"), "CLOSED": ("已结案", "Closed"),
    "RETURNED": ("已退回", "Returned"), "REOPENED": ("已重启", "Reopened"),
    "SELF_HANDLED": ("自处置待审", "Self-handled"), "INVALID": ("无效", "Invalid"),
    "DUPLICATE": ("重复", "Duplicate"), "NOT_OURS": ("非本辖", "Not ours"),
}
ACTIONS = {
    "report": ("上报", "report"), "accept": ("受理", "accept"), "dispatch": ("派遣", "dispatch"),
    "acknowledge": ("签收", "acknowledge"), "start": ("开始处置", "start"),
    "hold": ("延期", "postpone"), "resume": ("恢复处置", "resume"),
    "resolve": ("处理反馈", "resolve"), "close": ("核查结案", "close"), "rework": ("返工", "rework"),
    "reopen": ("重启", "reopen"), "return": ("退回", "return"), "reassign": ("改派", "reassign"),
    "escalate": ("升级督办", "escalate"), "invalidate": ("作废", "invalidate"),
    "duplicate": ("标为重复", "mark duplicate"), "not-ours": ("非本辖", "not ours"),
    "self-handle": ("自处置", "self-handle"), "rate": ("评价", "rate"),
    "breach": ("超时", "breach"), "ack-alarm": ("确认告警", "acknowledge alarm"),
}
ROLES = {
    "grid_worker": ("网格员", "grid worker"), "operator": ("值班员", "operator"),
    "shift_lead": ("值班长", "shift lead"), "leader": ("领导", "leader"),
    "handler": ("部门人员", "handler"), "admin": ("管理员", "admin"), "system": ("系统", "system"),
}
LEVELS = {"city": ("市级", "City"), "town": ("镇街", "Town"), "village": ("村（社区）", "Village"),
          "grid": ("网格", "Grid")}
STAGES = {"accept": ("受理", "Accept"), "dispatch": ("派遣", "Dispatch"),
          "handle": ("处置", "Handle"), "check": ("核查", "Check")}
STAGE_STATUSES = {"not_started": ("未开始", "not started"), "running": ("进行中", "running"),
                  "amber": ("临期", "due soon"), "paused": ("已暂停", "paused"),
                  "on_time": ("按时", "on time"), "breached": ("超时", "breached")}
FIELDS = {"reason": ("理由", "reason"), "department_id": ("部门", "department"),
          "deadline": ("期限", "deadline"), "new_deadline": ("新期限", "new deadline"),
          "dispute_outcome": ("调解结果", "mediation outcome"), "assignee_id": ("人员", "assignee"),
          "action": ("操作", "action"), "id": ("事件", "incident"), "notes": ("备注", "notes"),
          "satisfaction": ("满意度", "satisfaction"), "item_id": ("事项", "item")}
PAYLOAD = {"department": ("部门", "department"), "deadline": ("期限", "deadline"),
           "new_deadline": ("新期限", "new deadline"), "old_deadline": ("原期限", "old deadline"),
           "level": ("层级", "level"), "stage": ("环节", "stage"), "overdue": ("超时", "overdue by"),
           "channel": ("渠道", "channel"), "priority": ("优先级", "priority"),
           "item": ("事项", "item"), "outcome": ("调解结果", "outcome"),
           "satisfaction": ("满意度", "satisfaction"), "duplicate_of": ("重复于", "duplicate of"),
           "breaches": ("确认告警", "acknowledged"), "assignee": ("人员", "assignee")}


def t(key: str, lang: str, **values) -> str:
    return translate(TEXT, key, lang, **values)


def label(table: dict[str, tuple[str, str]], key, lang: str) -> str:
    """A state, action, role, level, stage or field in the page's language (the key itself
    when the table has no entry, so a new value still shows)."""
    if key is None:
        return "—"
    return pick_pair(table, key, lang)
