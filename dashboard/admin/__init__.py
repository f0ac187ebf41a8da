"""/admin: accounts, catalogue items and time-limit rules, for admins (see page.py).

Modules: page (layout, registration), callbacks, handlers (writes) and reads (lists,
records) for the callbacks; users, items, rules (the data, one module each); scope (who
may change what), forms (validation), audit (the audit log and "as loaded" checks),
views (pure builders), text, ids.
"""
