"""Component ids of /admin, in one place (the browser and access-matrix tests use them too).

Each form field has an error slot beside it: ERR[form][field]. Each section keeps, in a
store, the record as it was loaded into its edit form ("as loaded"): a save names it, and
the change is refused as a conflict if the record is no longer that (see audit.py).
"""

ROOT = "admin-root"
CTX = "admin-ctx"                    # store: {"lang"} (never an area: that comes from the login)
TABS = "admin-tabs"
SECTIONS = {"users": "admin-users", "items": "admin-items", "rules": "admin-rules"}

# ---------------------------------------------------------------- users
USER_FILTER_ROLE = "admin-user-filter-role"
USER_FILTER_AREA = "admin-user-filter-area"
USER_FILTER_ACTIVE = "admin-user-filter-active"
USERS = "admin-users-table"
USERS_COUNT = "admin-users-count"
USERS_REFRESH = "admin-users-refresh"        # store: set after a change, reloads the list
USER_MESSAGE = "admin-user-message"
USER_RESULT = "admin-user-result"            # store: what the last user change did

NEW_USERNAME = "admin-new-username"
NEW_NAME = "admin-new-name"
NEW_ROLE = "admin-new-role"
NEW_AREA = "admin-new-area"
NEW_PASSWORD = "admin-new-password"
NEW_CREATE = "admin-new-create"

EDIT_FORM = "admin-edit-form"
EDIT_TITLE = "admin-edit-title"
EDIT_LOADED = "admin-edit-loaded"            # store: the user as loaded
EDIT_NAME = "admin-edit-name"
EDIT_ROLE = "admin-edit-role"
EDIT_AREA = "admin-edit-area"
EDIT_SAVE = "admin-edit-save"
EDIT_ACTIVE = "admin-edit-active"            # deactivate / reactivate
EDIT_PASSWORD = "admin-edit-password"
EDIT_RESET = "admin-edit-reset"

# ---------------------------------------------------------------- items
ITEM_CATEGORY = "admin-item-category"
ITEMS = "admin-items-table"
ITEMS_REFRESH = "admin-items-refresh"
ITEM_MESSAGE = "admin-item-message"
ITEM_RESULT = "admin-item-result"
ITEM_LOADED = "admin-item-loaded"
ITEM_EDIT_FORM = "admin-item-edit-form"
ITEM_EDIT_TITLE = "admin-item-edit-title"
ITEM_NAME_ZH = "admin-item-name-zh"
ITEM_NAME_EN = "admin-item-name-en"
ITEM_PRIORITY = "admin-item-priority"
ITEM_SAVE = "admin-item-save"
ITEM_NEW_CATEGORY = "admin-item-new-category"  # the list's category, which a new item joins
ITEM_NEW_CODE = "admin-item-new-code"
ITEM_NEW_NAME_ZH = "admin-item-new-name-zh"
ITEM_NEW_NAME_EN = "admin-item-new-name-en"
ITEM_NEW_PRIORITY = "admin-item-new-priority"
ITEM_CREATE = "admin-item-create"

# ---------------------------------------------------------------- time-limit rules
RULE_FILTER_STAGE = "admin-rule-filter-stage"
RULES = "admin-rules-table"
RULES_REFRESH = "admin-rules-refresh"
RULE_MESSAGE = "admin-rule-message"
RULE_RESULT = "admin-rule-result"
RULE_LOADED = "admin-rule-loaded"
RULE_TITLE = "admin-rule-title"
RULE_STAGE = "admin-rule-stage"
RULE_PRIORITY = "admin-rule-priority"
RULE_CATEGORY = "admin-rule-category"
RULE_ITEM = "admin-rule-item"
RULE_MINUTES = "admin-rule-minutes"
RULE_CLOCK = "admin-rule-clock"
RULE_SAVE = "admin-rule-save"
RULE_CREATE = "admin-rule-create"
RULE_DELETE = "admin-rule-delete"
RULE_CLEAR = "admin-rule-clear"

# ---------------------------------------------------------------- the audit log
AUDIT = "admin-audit"

# The error slot beside each field, by form and field name (the names the validation uses).
ERR = {
    "new_user": {f: f"admin-err-new-{f}" for f in ("username", "name", "role", "area_id", "password")},
    "edit_user": {f: f"admin-err-edit-{f}" for f in ("name", "role", "area_id", "active", "password")},
    "edit_item": {f: f"admin-err-item-{f}" for f in ("name_zh", "name_en", "default_priority")},
    "new_item": {f: f"admin-err-item-new-{f}" for f in ("category_id", "code", "name_zh", "name_en",
                                                        "default_priority")},
    "rule": {f: f"admin-err-rule-{f}" for f in ("stage", "priority", "category_id", "item_id", "minutes",
                                                "clock")},
}
