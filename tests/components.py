"""Looking into a Dash layout built on the server, as a test reads a page."""
from __future__ import annotations

from dash.development.base_component import Component


def walk(node):
    """Every component in a layout, depth first."""
    if isinstance(node, Component):
        yield node
        for child in node.children if isinstance(getattr(node, "children", None), list) else [
                getattr(node, "children", None)]:
            yield from walk(child)
    elif isinstance(node, list | tuple):
        for child in node:
            yield from walk(child)


def find(tree, ident: str) -> Component:
    """The one component with id `ident`."""
    found = [n for n in walk(tree) if getattr(n, "id", None) == ident]
    assert len(found) == 1, f"the page has one #{ident}"
    return found[0]
