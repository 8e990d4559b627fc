"""StoreSpec: which OPeRA data to read, said once, checked once.

Every layer that reads data (the environment, rollout, the baselines, the prediction scorer, the
trainers' step data, the pipeline, the command lines) takes a :class:`StoreSpec` instead of its
own copy of ``source``, ``variant``, ``split``, ``revision``, ``page_scale`` and ``strict``. The
spec checks every field and every combination when it is made (a revision needs the hub, a page
scale the embedded store), so a bad choice fails where it is written, with the option named,
before anything is opened. :func:`add_store_arguments` gives a command line the same options
(``--source``, ``--variant``, ``--split``, ``--revision``, ``--page-scale``, ``--strict``) and
:func:`store_spec_from_args` turns them back into a spec.

Example:
    >>> spec = StoreSpec(split="test", page_scale="compact")
    >>> spec.page_scale, spec.describe()
    (0.05, 'embedded (page scale 0.05) filtered/test')
    >>> spec.with_split("train").split
    'train'
    >>> StoreSpec(source="hub", page_scale=0.1)
    Traceback (most recent call last):
    ...
    ValueError: page_scale applies to the embedded store only (source='embedded'), not source='hub'
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping

from customer_env.constants import SPLITS, VARIANT_DIRS, VARIANTS

if TYPE_CHECKING:
    from customer_env.data.store import OperaStore

#: ``source`` of the default synthetic store (generated into the cache on first use).
EMBEDDED = "embedded"
#: ``source`` of ``NEU-HAI/OPeRA`` read through ``datasets``.
HUB = "hub"

Variant = Literal["filtered", "full"]
Split = Literal["train", "test"]

SOURCE_HELP = "where to read OPeRA: 'embedded' (the synthetic default), 'hub' (NEU-HAI/OPeRA) or a local copy's directory"
VARIANT_HELP = "'filtered' (click, input, terminate: the task) or 'full' (every interaction)"
REVISION_HELP = "hub only: the dataset branch, tag or commit to pin"
PAGE_SCALE_HELP = ("embedded store only: page length relative to real pages (a number, 'compact' or 'full'); "
                   "default: full-size pages, or the scale a checkpoint was trained at")


def _page_scale(value: float | str | None) -> float | None:
    """None stays None (the store's own pages); a name or number becomes a finite float >= 0."""
    if value is None:
        return None
    if isinstance(value, str):
        from customer_env.data.embedded import resolve_page_scale  # names such as "compact"

        return resolve_page_scale(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"page_scale must be a number, 'compact' or 'full', got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"page_scale must be a finite number >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class StoreSpec:
    """One variant and split of OPeRA from one source: everything ``open()`` needs.

    Attributes:
        source: ``"embedded"`` (None means the same), ``"hub"``, or the path of a directory laid
            out like the dataset repository (kept as given, ``~`` expanded).
        variant: ``"filtered"`` or ``"full"``.
        split: ``"train"`` or ``"test"``.
        revision: Hub only: the branch, tag or commit to pin (None: the default branch).
        page_scale: Embedded store only: page length relative to real pages (None: full size;
            ``"compact"`` and ``"full"`` are accepted and stored as numbers).
        strict: Raise on the first data problem instead of skipping and counting it.

    Raises:
        ValueError: Naming the option, for an unknown variant or split, a bad page scale, or an
            option that does not apply to the source.
    """

    source: str | None = EMBEDDED
    variant: Variant = "filtered"
    split: Split = "train"
    revision: str | None = None
    page_scale: float | str | None = None
    strict: bool = False

    def __post_init__(self) -> None:
        source = EMBEDDED if self.source is None else self.source
        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"source must be 'embedded', 'hub' or a directory, got {self.source!r}")
        if source not in (EMBEDDED, HUB):
            source = str(Path(source).expanduser())
        object.__setattr__(self, "source", source)
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {list(VARIANTS)}, got {self.variant!r}")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {self.split!r}")
        if self.revision is not None and source != HUB:
            raise ValueError(f"revision applies to the hub source only (source='hub'), not source={source!r}")
        if self.page_scale is not None and source != EMBEDDED:
            raise ValueError(f"page_scale applies to the embedded store only (source='embedded'), "
                             f"not source={source!r}")
        object.__setattr__(self, "page_scale", _page_scale(self.page_scale))
        if not isinstance(self.strict, bool):
            raise ValueError(f"strict must be true or false, got {self.strict!r}")

    @property
    def is_embedded(self) -> bool:
        """Whether this is the embedded synthetic store."""
        return self.source == EMBEDDED

    def with_split(self, split: str) -> "StoreSpec":
        """The same data, another split (checked like any spec)."""
        return dataclasses.replace(self, split=split)

    def replace(self, **changes: Any) -> "StoreSpec":
        """A copy with ``changes`` applied (checked like any spec)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (what checkpoints and results record)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "StoreSpec":
        """A spec from :meth:`to_dict`'s output.

        Raises:
            ValueError: Naming the keys that are no field of a spec, or a bad value.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown store option(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(values))

    def check_source(self) -> None:
        """Refuse a local ``source`` that is no copy of the dataset, before anything is read.

        Only the directory and its variant's folder are looked at (no file is opened); the
        embedded store and the hub are checked when opened.

        Raises:
            ValueError: Naming the directory, when it does not exist or holds no
                ``OPeRA_<variant>/`` folder.
        """
        if self.is_embedded or self.source == HUB:
            return
        root = Path(str(self.source))
        if not root.is_dir():
            what = "is a file, not a directory" if root.exists() else "no such directory"
            raise ValueError(f"source {self.source}: {what} (give 'embedded', 'hub' or the root of a local copy "
                             "of NEU-HAI/OPeRA)")
        folder = VARIANT_DIRS[self.variant]
        if not (root / folder).is_dir():
            raise ValueError(f"source {self.source}: holds no {folder}/ folder, so it is no copy of NEU-HAI/OPeRA in "
                             f"its hub layout (variant {self.variant!r})")

    def describe(self) -> str:
        """A short label, e.g. ``embedded (page scale 0.1) filtered/test``."""
        where = self.source
        if self.page_scale is not None:
            where += f" (page scale {self.page_scale:g})"
        if self.revision is not None:
            where += f" @ {self.revision}"
        return f"{where} {self.variant}/{self.split}"

    def open(self) -> "OperaStore":
        """Open the store this spec names.

        Raises:
            DataError: The data cannot be loaded (missing files or columns, hub unreachable), or
                any data problem in strict mode.
        """
        from customer_env.data.store import OperaStore

        if self.is_embedded:
            from customer_env.data.embedded import embedded_store_dir
            from customer_env.data.local import LocalSource

            root = embedded_store_dir(page_scale=self.page_scale)
            table_source = LocalSource(root, self.variant, self.split)
            table_source.description = f"the embedded synthetic store at {root} ({self.variant}/{self.split})"
        elif self.source == HUB:
            from customer_env.data.hub import HubSource

            table_source = HubSource(self.variant, self.split, revision=self.revision)
        else:
            from customer_env.data.local import LocalSource

            table_source = LocalSource(Path(self.source), self.variant, self.split)
        return OperaStore.load(table_source, self.variant, self.split, strict=self.strict)


def add_store_arguments(parser: argparse.ArgumentParser, *, split: str = "test") -> None:
    """Add ``--source``, ``--variant``, ``--split``, ``--revision``, ``--page-scale``, ``--strict``.

    Args:
        parser: The command line to extend.
        split: The default ``--split``; ``"both"`` also offers ``--split both`` (the caller
            reads both splits).
    """
    group = parser.add_argument_group("data (customer_env.data.StoreSpec)")
    group.add_argument("--source", default=EMBEDDED, help=SOURCE_HELP)
    group.add_argument("--variant", default="filtered", choices=VARIANTS, help=VARIANT_HELP)
    splits = (*SPLITS, "both") if split == "both" else SPLITS
    group.add_argument("--split", default=split, choices=splits, help="the split to read")
    group.add_argument("--revision", default=None, help=REVISION_HELP)
    group.add_argument("--page-scale", default=None, type=_page_scale_argument, help=PAGE_SCALE_HELP)
    group.add_argument("--strict", action="store_true", help="stop at the first data problem instead of counting it")


def _page_scale_argument(text: str) -> float:
    try:
        value = _page_scale(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert value is not None
    return value


def store_spec_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> StoreSpec:
    """The spec the options of :func:`add_store_arguments` say; a bad combination, or a local
    ``--source`` that is no copy of the dataset (:meth:`StoreSpec.check_source`), is a command-line
    error (``parser.error``) naming the option."""
    try:
        spec = StoreSpec(source=args.source, variant=args.variant, split=args.split, revision=args.revision,
                         page_scale=args.page_scale, strict=args.strict)
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits
    try:
        spec.check_source()
    except ValueError as exc:
        parser.error(f"--{exc}")
    return spec


__all__ = ["StoreSpec", "EMBEDDED", "HUB", "Variant", "Split", "add_store_arguments", "store_spec_from_args",
           "SOURCE_HELP", "VARIANT_HELP", "REVISION_HELP", "PAGE_SCALE_HELP"]
