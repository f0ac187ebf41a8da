"""Component ids of /console, in one place (console.js and the browser tests use them too)."""

ROOT = "console-root"
CTX = "console-ctx"                  # store: {"lang"} (never an area: that comes from the login)
LIVE = "console-live"                # store console.js sets when the live feed reports a change
CURSOR = "console-cursor"            # store console.js sets on j/k: {"id", "t"}
SELECTED = "console-selected"        # store: the drawer's incident {"id", "version", ...}
REFRESH = "console-refresh"          # store: set after an action, reloads queue and drawer
PENDING = "console-pending"          # store: {"action"} whose form is open
TICK = "console-tick"                # interval: countdowns and the pending handovers

FILTER_STATE = "console-filter-state"
FILTER_CATEGORY = "console-filter-category"
FILTER_LEVEL = "console-filter-level"
FILTER_DEPARTMENT = "console-filter-department"
FILTER_OVERDUE = "console-filter-overdue"

QUEUE = "console-queue"              # the DataTable
QUEUE_COUNT = "console-queue-count"
BATCH_SELECTION = "console-batch-selection"
BATCH_DEPARTMENT = "console-batch-department"
BATCH_REASON = "console-batch-reason"
BATCH_SUBMIT = "console-batch-submit"

DRAWER = "console-drawer"
DRAWER_CLOSE = "console-drawer-close"
DRAWER_SUMMARY = "console-drawer-summary"
ACTIONS = "console-actions"          # holds the buttons {"type": ACT, "action": ...}
ACT = "console-act"
STAGES = "console-stages"
MAP = "console-map"
TIMELINE = "console-timeline"
MESSAGE = "console-message"

FORM = "console-form"
FORM_TITLE = "console-form-title"
F_DEPARTMENT = "console-f-department"
F_DEADLINE = "console-f-deadline"
F_OUTCOME = "console-f-outcome"
F_REASON = "console-f-reason"
F_SUBMIT = "console-f-submit"
F_CANCEL = "console-f-cancel"
# the label around each field, shown only for the actions that take it
F_ROWS = {"department_id": "console-f-department-row", "deadline": "console-f-deadline-row",
          "dispute_outcome": "console-f-outcome-row", "reason": "console-f-reason-row"}

HANDOVER_START = "console-handover-start"
HANDOVER_FORM = "console-handover-form"
HANDOVER_PREVIEW = "console-handover-preview"
HANDOVER_NOTES = "console-handover-notes"
HANDOVER_SUBMIT = "console-handover-submit"
HANDOVER_PENDING = "console-handover-pending"
HANDOVER_ACK = "console-handover-ack"        # pattern type: {"type": HANDOVER_ACK, "id": n}
HANDOVER_MESSAGE = "console-handover-message"
HELP = "console-help"
