"""The Dash app: wall screens, console and metrics (issues 4 and 5). Nothing runs here yet."""
