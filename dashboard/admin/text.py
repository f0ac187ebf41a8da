"""The admin page's words, Chinese first (`?lang=en` for English), like the other pages."""
from __future__ import annotations

from dashboard.wall.i18n import LANGUAGES, pick_language, pick_pair, translate  # noqa: F401  (re-exported)

TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "系统管理", "en": "Administration"},
    "scope.city": {"zh": "全市管理员：可管理本级及下级账号、事项和时限规则",
                   "en": "City admin: accounts in your area, items and time limits"},
    "scope.local": {"zh": "本级管理员：可管理 {area} 及下级的账号；事项和时限规则只读（须全市管理员修改）",
                    "en": "Admin of {area}: accounts there and beneath; items and time limits are "
                          "read-only (a city admin changes them)"},
    "tab.users": {"zh": "账号", "en": "Users"},
    "tab.items": {"zh": "事项", "en": "Items"},
    "tab.rules": {"zh": "时限规则", "en": "Time limits"},
    "audit": {"zh": "最近的管理操作", "en": "Recent admin changes"},
    "audit.empty": {"zh": "暂无管理操作记录", "en": "No changes yet"},
    "any": {"zh": "任意", "en": "any"},
    "none": {"zh": "—", "en": "—"},
    "count": {"zh": "共 {n} 条", "en": "{n} rows"},
    "count.capped": {"zh": "显示前 {n} 条（请缩小筛选范围）", "en": "first {n} shown (narrow the filter)"},
    "filter.role": {"zh": "角色", "en": "Role"},
    "filter.area": {"zh": "区域（含下级）", "en": "Area (and beneath)"},
    "filter.active": {"zh": "状态", "en": "Status"},
    "active.yes": {"zh": "启用", "en": "active"},
    "active.no": {"zh": "已停用", "en": "deactivated"},
    "col.id": {"zh": "编号", "en": "ID"},
    "col.username": {"zh": "用户名", "en": "Username"},
    "col.name": {"zh": "姓名", "en": "Name"},
    "col.role": {"zh": "角色", "en": "Role"},
    "col.area": {"zh": "区域", "en": "Area"},
    "col.active": {"zh": "状态", "en": "Status"},
    "col.last_login": {"zh": "最近登录", "en": "Last login"},
    "col.code": {"zh": "编码", "en": "Code"},
    "col.name_zh": {"zh": "中文名称", "en": "Name (Chinese)"},
    "col.name_en": {"zh": "英文名称", "en": "Name (English)"},
    "col.priority": {"zh": "默认优先级", "en": "Default priority"},
    "col.stage": {"zh": "环节", "en": "Stage"},
    "col.rule_priority": {"zh": "优先级", "en": "Priority"},
    "col.scope": {"zh": "适用范围", "en": "Applies to"},
    "col.minutes": {"zh": "时限（分钟）", "en": "Minutes"},
    "col.span": {"zh": "约合", "en": "About"},
    "col.clock": {"zh": "计时方式", "en": "Clock"},
    "col.at": {"zh": "时间", "en": "When"},
    "col.actor": {"zh": "操作人", "en": "Who"},
    "col.what": {"zh": "对象", "en": "What"},
    "col.change": {"zh": "操作", "en": "Change"},
    "col.detail": {"zh": "变更内容", "en": "Details"},
    "scope.default": {"zh": "默认（所有事项）", "en": "default (every item)"},
    "scope.category": {"zh": "类别：{name}", "en": "category: {name}"},
    "scope.item": {"zh": "事项：{name}", "en": "item: {name}"},
    "new_user": {"zh": "新建账号", "en": "New user"},
    "edit_user": {"zh": "修改账号", "en": "Edit user"},
    "edit.pick": {"zh": "在列表中点击一个账号进行修改", "en": "Click a user in the list to edit them"},
    "edit.title": {"zh": "{username}（{name}）· {status}", "en": "{username} ({name}) · {status}"},
    "field.username": {"zh": "用户名", "en": "Username"},
    "field.name": {"zh": "姓名", "en": "Name"},
    "field.role": {"zh": "角色", "en": "Role"},
    "field.area_id": {"zh": "管辖区域", "en": "Jurisdiction"},
    "field.password": {"zh": "初始密码", "en": "Initial password"},
    "field.new_password": {"zh": "新密码", "en": "New password"},
    "field.active": {"zh": "状态", "en": "Status"},
    "field.code": {"zh": "编码", "en": "Code"},
    "field.category_id": {"zh": "类别", "en": "Category"},
    "field.name_zh": {"zh": "中文名称", "en": "Name (Chinese)"},
    "field.name_en": {"zh": "英文名称", "en": "Name (English)"},
    "field.default_priority": {"zh": "默认优先级", "en": "Default priority"},
    "field.stage": {"zh": "环节", "en": "Stage"},
    "field.priority": {"zh": "优先级（空：任意）", "en": "Priority (empty: any)"},
    "field.item_id": {"zh": "事项（空：任意）", "en": "Item (empty: any)"},
    "field.rule_category": {"zh": "类别（空：任意）", "en": "Category (empty: any)"},
    "field.minutes": {"zh": "时限（分钟）", "en": "Minutes"},
    "field.clock": {"zh": "计时方式", "en": "Clock"},
    "field.id": {"zh": "记录", "en": "Record"},
    "button.create": {"zh": "创建", "en": "Create"},
    "button.save": {"zh": "保存修改", "en": "Save changes"},
    "button.deactivate": {"zh": "停用账号", "en": "Deactivate"},
    "button.reactivate": {"zh": "重新启用", "en": "Reactivate"},
    "button.reset": {"zh": "重置密码", "en": "Reset password"},
    "button.rule_create": {"zh": "新建规则", "en": "Create as a new rule"},
    "button.rule_delete": {"zh": "删除规则", "en": "Delete rule"},
    "button.rule_clear": {"zh": "清空表单", "en": "Clear the form"},
    "items.category": {"zh": "类别", "en": "Category"},
    "item.edit": {"zh": "修改事项", "en": "Edit item"},
    "item.pick": {"zh": "在列表中点击一个事项进行修改", "en": "Click an item in the list to edit it"},
    "item.new": {"zh": "在此类别下新建事项", "en": "New item in this category"},
    "item.new_code": {"zh": "编码，如 {example}", "en": "Code, e.g. {example}"},
    "rule.form": {"zh": "规则", "en": "Rule"},
    "rule.new": {"zh": "新规则（点击列表中的规则可修改或删除）",
                 "en": "A new rule (click a rule in the list to edit or delete it)"},
    "rule.editing": {"zh": "正在修改规则 #{id}", "en": "Editing rule #{id}"},
    "rule.note": {"zh": "时限规则修改后立即对新设定的期限生效；已设定的期限不变。"
                        "每个环节、每个优先级须保留一条默认规则（无类别、无事项）。",
                  "en": "A rule change applies at once to every deadline set from now on; deadlines "
                        "already set stay as they are. Each stage keeps a default rule (no category, "
                        "no item) for every priority."},
    "readonly": {"zh": "只读：事项和时限规则须由全市管理员修改", "en": "Read-only: a city admin changes items and time limits"},
    # results
    "msg.created": {"zh": "已创建：{what}", "en": "Created: {what}"},
    "msg.saved": {"zh": "已保存：{what}", "en": "Saved: {what}"},
    "msg.deleted": {"zh": "已删除：{what}", "en": "Deleted: {what}"},
    "msg.deactivated": {"zh": "已停用 {what}，其登录已全部结束", "en": "Deactivated {what}; their logins have ended"},
    "msg.reactivated": {"zh": "已重新启用 {what}", "en": "Reactivated {what}"},
    "msg.password": {"zh": "已重置 {what} 的密码，其登录已全部结束", "en": "Reset {what}'s password; their logins have ended"},
    "msg.unchanged": {"zh": "没有改动", "en": "Nothing changed"},
    "msg.invalid": {"zh": "未保存，请修改标出的字段：", "en": "Not saved: fix the fields marked:"},
    "msg.conflict": {"zh": "未保存：该记录已被他人修改（可能是另一位管理员）。现在的内容：",
                     "en": "Not saved: someone else (another admin?) changed this record since you loaded it. "
                           "It is now:"},
    "msg.conflict.race": {"zh": "未保存：另一位管理员刚刚保存了相同的用户名或编码。",
                          "en": "Not saved: another admin saved the same username or code a moment ago."},
    "msg.conflict.gone": {"zh": "未保存：该记录已被他人删除。", "en": "Not saved: someone else deleted this record."},
    "msg.conflict.reload": {"zh": "请在列表中重新点击该记录，查看后再修改。",
                            "en": "Click it in the list again to load it as it is now, then edit."},
    "msg.forbidden": {"zh": "无权执行：{detail}", "en": "Not allowed: {detail}"},
    "msg.not_found": {"zh": "没有这条记录（或不在您的管辖范围内）",
                      "en": "No such record (or it is outside your jurisdiction)"},
    "msg.pick": {"zh": "请先在列表中选择一条记录", "en": "Pick a record in the list first"},
    "msg.denied": {"zh": "登录已失效或无权使用系统管理", "en": "Your login has ended or may not use the admin page"},
    "forbidden.city": {"zh": "事项和时限规则须由全市管理员修改", "en": "only a city admin changes items and time limits"},
    "forbidden.role": {"zh": "只有管理员可以使用此页面", "en": "only admins may use this page"},
}

# Why a field was refused: pydantic's error types, and the checks of users.py, items.py, rules.py.
WHY: dict[str, dict[str, str]] = {
    "missing": {"zh": "必填", "en": "is required"},
    "too_short": {"zh": "至少 {min_length} 个字符", "en": "needs at least {min_length} characters"},
    "too_long": {"zh": "最多 {max_length} 个字符", "en": "has at most {max_length} characters"},
    "pattern.username": {"zh": "只能用小写字母、数字和 . _ -，且以字母或数字开头",
                         "en": "only a-z, 0-9, '.', '_' and '-', starting with a letter or digit"},
    "pattern.code": {"zh": "格式为“类别编码-序号”，如 01-05", "en": "is the category's code, a dash and two digits, e.g. 01-05"},
    "whole_number": {"zh": "须为整数", "en": "must be a whole number"},
    "greater_than": {"zh": "须大于 {gt}", "en": "must be more than {gt}"},
    "less_than_equal": {"zh": "不能超过 {le}", "en": "must be at most {le}"},
    "one_of": {"zh": "须为以下之一：{expected}", "en": "must be one of {expected}"},
    "password_rule": {"zh": "密码须为 {min} 至 {max} 个字符", "en": "a password has {min} to {max} characters"},
    "one_scope": {"zh": "一条规则只能指定类别或事项之一", "en": "a rule names a category or an item, not both"},
    "extra_forbidden": {"zh": "不是此表单的字段", "en": "is not a field of this form"},
    "taken": {"zh": "“{value}”已被使用", "en": "{value!r} is taken"},
    "area_outside": {"zh": "不在您的管辖范围内", "en": "is outside your jurisdiction"},
    "area_level": {"zh": "须为市、镇街或村（社区）", "en": "must be a city, town or village"},
    "self_role": {"zh": "不能更改自己的角色或管辖区域（请另一位管理员操作）",
                  "en": "you cannot change your own role or area (ask another admin)"},
    "self_deactivate": {"zh": "不能停用自己的账号", "en": "you cannot deactivate yourself"},
    "self_password": {"zh": "不能在此重置自己的密码（请用 set-password 命令或另一位管理员）",
                      "en": "reset your own password with set-password or another admin, not here"},
    "no_category": {"zh": "没有这个类别", "en": "no such category"},
    "no_item": {"zh": "没有这个事项", "en": "no such item"},
    "code_prefix": {"zh": "须以类别编码 {prefix} 开头", "en": "must start with the category's code {prefix}"},
    "duplicate_rule": {"zh": "已有相同环节、优先级和范围的规则 #{id}", "en": "rule #{id} already has this stage, priority and scope"},
    "no_fallback": {"zh": "此操作会使“{stage}”环节的 {priority} 优先级没有默认规则",
                    "en": "this would leave stage {stage} with no default rule for priority {priority}"},
}

ROLES = {"operator": ("值班员", "operator"), "shift_lead": ("值班长", "shift lead"),
         "leader": ("领导", "leader"), "admin": ("管理员", "admin"), "grid_worker": ("网格员", "grid worker"),
         "handler": ("部门人员", "handler"), "system": ("系统", "system")}
STAGES = {"accept": ("受理", "accept"), "dispatch": ("派遣", "dispatch"), "handle": ("处置", "handle"),
          "check": ("核查", "check")}
PRIORITIES = {"urgent": ("紧急", "urgent"), "normal": ("一般", "normal"), "low": ("较低", "low")}
CLOCKS = {"calendar": ("自然时间", "calendar"), "working": ("工作时间", "working hours")}
ENTITIES = {"staff": ("账号", "user"), "item": ("事项", "item"), "sla_rule": ("时限规则", "time limit")}
CHANGES = {"create": ("新建", "created"), "update": ("修改", "changed"), "delete": ("删除", "deleted"),
           "deactivate": ("停用", "deactivated"), "reactivate": ("启用", "reactivated"),
           "set_password": ("重置密码", "password reset")}


def t(key: str, lang: str, **values) -> str:
    return translate(TEXT, key, lang, **values)


def why(reason: str, lang: str, params: dict | None = None) -> str:
    """A refusal's reason in the page's language (the key itself if it has no entry)."""
    entry = WHY.get(reason)
    if entry is None:
        return reason
    try:
        return entry[lang].format(**(params or {}))
    except (KeyError, IndexError, ValueError):
        return entry[lang]


def label(table: dict[str, tuple[str, str]], key, lang: str) -> str:
    if key is None or key == "":
        return t("any", lang)
    return pick_pair(table, key, lang)


def field_label(field: str, lang: str) -> str:
    return t(f"field.{field}", lang) if f"field.{field}" in TEXT else field
