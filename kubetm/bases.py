"""The base images kubetm's own images build FROM (the course images and the local registry image).

Online the Dockerfiles build FROM public bases (Node.js 22 slim pinned by digest in
hack/offline/versions.env's NODEJS_IMAGE, debian:bookworm-slim); a public base Docker already has
is used as it is (by digest, else by its tag: a local copy is never pulled again). Offline
(KUBETM_OFFLINE=1, or a public base is neither present locally nor pullable) they build FROM the
Debian images hack/offline/base-images.sh makes (kubetm.local/nodejs:bookworm,
kubetm.local/debian:bookworm), built here when missing. Shared by kubetm.images and
kubetm.registry, so neither imports the other's internals.

    >>> from kubetm import bases
    >>> bases.base_images({"debian"})    # ({'debian': 'kubetm.local/debian:bookworm'}, True, '... reason')
"""

from __future__ import annotations

import os
from pathlib import Path

from kubetm.errors import KubetmError
from kubetm.host import docker
from kubetm.host.exec import LineFn
from kubetm.host.offline import OFFLINE_DIR, decide_offline, run_script, versions

# base kind -> (public image used online, local image hack/offline/base-images.sh builds)
BASES: dict[str, tuple[str, str]] = {
    "nodejs": (versions()["NODEJS_IMAGE"], "kubetm.local/nodejs:bookworm"),
    "debian": ("debian:bookworm-slim", "kubetm.local/debian:bookworm"),
}


def public_ref(kind: str) -> str:
    """The public base to build FROM online: the local image when Docker has it (the pinned
    ``name:tag@sha256:...`` itself, else ``name:tag``), else the pinned ref (pulled)."""
    pinned = BASES[kind][0]
    return docker.local_ref(pinned) or pinned


def images_dir() -> Path:
    """images/ of the checkout, or the installed wheel's copy (override: $KUBETM_IMAGES_DIR)."""
    from kubetm.resources import data_dir

    return data_dir("images")


def _note(line: str) -> None:
    from kubetm import progress

    progress.note(line)


def base_images(
    kinds: set[str], offline: bool | None = None, on_line: LineFn | None = _note
) -> tuple[dict[str, str], bool, str]:
    """{base kind: image to build FROM}, whether offline, and why. Offline bases are built if missing
    (hack/offline/base-images.sh, its output lines to ``on_line``)."""
    public = {k: public_ref(k) for k in kinds} if offline is not True else {}
    off, reason = decide_offline([public[k] for k in sorted(public)], offline, on_pull=on_line)
    bases = {k: BASES[k][1] if off else public[k] for k in kinds}
    if off:
        for kind, image in sorted(bases.items()):
            if not docker.image_present(image):
                _build_offline_base(kind, image, on_line)
    return bases, off, reason


def _build_offline_base(kind: str, image: str, on_line: LineFn | None) -> None:
    if not (OFFLINE_DIR / "base-images.sh").exists() or os.geteuid() != 0:
        raise KubetmError(
            f"offline base image {image} is missing",
            hint=f"build it: sudo hack/offline/base-images.sh {kind}",
        )
    run_script(
        "base-images.sh", kind, what=f"building the offline base image {image}", on_line=on_line
    )
    if not docker.image_present(image):
        raise KubetmError(
            f"building the offline base image {image} failed (image missing afterwards)",
            hint="see the output above",
        )
