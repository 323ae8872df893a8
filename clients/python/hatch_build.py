"""Puts the repository's kizuna_client and kizuna packages into the kizuna-client distribution.

Built from the repository (`pip install ./clients/python`) the packages are two folders up, and
this hook adds them; built from the sdist it makes, they sit at the sdist's root and are selected
as ordinary packages. A `force-include` path that does not exist fails a build, so pyproject.toml
alone cannot say "from there, or else from here".
"""

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGES = ("kizuna_client", "kizuna")


class PackagesHook(BuildHookInterface):
    """Adds each package from the repository unless the project root holds it already."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        for name in PACKAGES:
            if (root / name / "__init__.py").is_file():
                continue  # an unpacked sdist: selected by `packages`
            source = root.parents[1] / name
            if not (source / "__init__.py").is_file():
                raise FileNotFoundError(f"kizuna-client: no {name} package at {root} or {source}")
            build_data["force_include"][str(source)] = name
