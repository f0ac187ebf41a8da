"""The 311 export formats we can import, by CLI name."""
from seed.formats import la, nyc
from seed.formats.base import Format

FORMATS: dict[str, Format] = {fmt.name: fmt for fmt in (la.FORMAT, nyc.FORMAT)}


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(sorted(FORMATS))}") from None
