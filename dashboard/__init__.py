"""The Dash app and its Flask server: the REST API and Open311 (dashboard/api, issue 3);
the wall screens, console and metrics pages come with issues 4 and 5."""
