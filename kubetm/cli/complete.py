"""Shell completion of kubetm's names: labs, demos, course images.

Typer calls these while the shell completes (`_KUBETM_COMPLETE=complete_bash kubetm ...`); each
reads its catalogue lazily, so defining them costs `kubetm --help` nothing. Install with
`kubetm --install-completion` (bash, zsh, fish, PowerShell) or print the script with
`kubetm --show-completion`.
"""

from __future__ import annotations


def _matching(names: list[str], incomplete: str) -> list[str]:
    return [n for n in names if n.startswith(incomplete)]


def labs(incomplete: str) -> list[str]:
    """Lab names in course order, then 'all'."""
    from kubetm.labs.catalog import names

    return _matching([*names(), "all"], incomplete)


def demos(incomplete: str) -> list[str]:
    """Demo strategies and 'compare'."""
    from kubetm import demos as catalogue

    return _matching([d["name"] for d in catalogue.list_demos()], incomplete)


def images(incomplete: str) -> list[str]:
    """Course image names, then 'all'."""
    from kubetm.images import IMAGES

    return _matching([*IMAGES, "all"], incomplete)


def servers(incomplete: str) -> list[str]:
    """Course images `kubetm image run` can start (the ones serving HTTP)."""
    from kubetm.images import IMAGES

    return _matching([n for n, s in IMAGES.items() if s.port], incomplete)
