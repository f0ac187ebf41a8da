"""The leaders' metrics page (/metrics): indicators, trends, per-stage on-time rates and
rankings for an area and a range of local days, with CSV and Excel export.

- definitions: every indicator shown, its unit and its definition (zh, en), in one table;
- data: jurisdiction, the range, and the plain figures (models.metrics does the sums);
- tables: the figures as the rows shown on screen and exported;
- export: those rows as CSV and Excel;
- components: pure builders of the page's parts; page: the Dash page and its callbacks.
"""
