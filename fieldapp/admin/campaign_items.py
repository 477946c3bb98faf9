"""A campaign's steps and categories as edited on the campaign form (the ward's and the city's).

Each list is [{"key", "label"}, ...]. Records store keys (Assist.steps ",a,b,", Assist.category),
so a key never changes: the form renames labels, removes unused items and adds new ones whose
key is made from the accent-folded label. The rules are plain functions; only `keys_in_use`
reads the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from ..models import Assist, Campaign
from ..text import fold, nfc
from ..vocab import TEST_STEP

LABEL_MAX = 60
KEY_MAX = 20  # 8 keys of 20 characters and their commas fit Assist.steps (200)
NEW_ROWS = 2  # empty rows offered for new items
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_KEY = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class ItemKind:
    """What differs between the steps list and the categories list."""

    name: str  # the form field and Campaign attribute: "steps" or "categories"
    noun: str  # "bước", "đối tượng"
    max_items: int
    fallback_key: str  # a key for a label with no letter or digit
    kept: frozenset[str] = frozenset()  # keys that can never be removed


STEPS = ItemKind("steps", "bước", 8, "step", frozenset({TEST_STEP}))
CATEGORIES = ItemKind("categories", "đối tượng", 12, "category")
KINDS = {kind.name: kind for kind in (STEPS, CATEGORIES)}


@dataclass(frozen=True)
class Row:
    """One row of the form: an existing item (its key) or a new one (key None)."""

    key: str | None
    label: str
    remove: bool = False


@dataclass
class Outcome:
    """The list after the edit, and what changed (keys only, for the audit trail)."""

    items: list[dict[str, str]]
    errors: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.renamed)


def parse_rows(formdata: Mapping[str, str], name: str) -> list[Row] | None:
    """The rows posted for one list, or None when the form carried none (nothing to change).

    Existing item: `<name>-k-<key>-label` and the checkbox `<name>-k-<key>-remove`;
    new item: `<name>-new-<n>-label`.
    """
    prefix = f"{name}-"
    if not any(key.startswith(prefix) for key in formdata):
        return None
    existing: list[Row] = []
    new: list[tuple[int, str]] = []
    for posted in formdata:
        parts = posted.split("-")
        if len(parts) != 4 or parts[0] != name or parts[3] != "label":
            continue
        label = clean_label(str(formdata.get(posted) or ""))
        if parts[1] == "k" and _KEY.match(parts[2]):
            remove = bool(formdata.get(f"{name}-k-{parts[2]}-remove"))
            existing.append(Row(parts[2], label, remove))
        elif parts[1] == "new" and parts[2].isascii() and parts[2].isdigit():
            new.append((int(parts[2]), label))
    return existing + [Row(None, label) for _n, label in sorted(new)]


def clean_label(value: str) -> str:
    """A label as stored: NFC, blanks collapsed, no control characters."""
    return "".join(ch for ch in nfc(value) if unicodedata.category(ch) != "Cc")


def make_key(label: str, taken: set[str], fallback: str) -> str:
    """A key from the folded label: lowercase a-z, 0-9 and underscores, not in `taken`."""
    base = _NOT_KEY.sub("_", fold(label)).strip("_")[:KEY_MAX].strip("_") or fallback
    key, n = base, 2
    while key in taken:
        suffix = f"_{n}"
        key = base[: KEY_MAX - len(suffix)].rstrip("_") + suffix
        n += 1
    return key


def removed_keys(current: list[dict[str, str]], rows: list[Row] | None) -> set[str]:
    """The current keys the rows ask to remove."""
    keys = {item["key"] for item in current}
    return {row.key for row in rows or [] if row.remove and row.key in keys}


def apply_rows(
    kind: ItemKind,
    current: list[dict[str, str]],
    rows: list[Row] | None,
    in_use: Mapping[str, int] | None = None,
) -> Outcome:
    """The list the rows make of `current`, with a polite message for every rule broken.

    `in_use` maps a key to how many assist rows of the campaign use it. Rows of keys the list
    no longer has (removed meanwhile by someone else) are ignored; items without a row stay.
    Order: the current order, then new items as listed. Nothing changes when there are errors.
    """
    in_use = in_use or {}
    if rows is None:
        return Outcome([dict(item) for item in current])
    by_key = {row.key: row for row in rows if row.key is not None}
    items: list[dict[str, str]] = []
    errors: list[str] = []
    outcome = Outcome(items, errors)
    missing_label = False
    for item in current:
        row = by_key.get(item["key"])
        if row is None:
            items.append(dict(item))
            continue
        if row.remove:
            if item["key"] in kind.kept:
                errors.append(
                    f"Không thể bỏ bước “{item['label']}”: tiến độ thi của người dân được "
                    "tính theo bước này. Bạn vẫn có thể đổi tên bước."
                )
                items.append(dict(item))
            elif in_use.get(item["key"]):
                errors.append(
                    f"Không thể bỏ {kind.noun} “{item['label']}”: đã có "
                    f"{in_use[item['key']]} lượt hỗ trợ ghi {kind.noun} này. "
                    "Bạn vẫn có thể đổi tên."
                )
                items.append(dict(item))
            else:
                outcome.removed.append(item["key"])
            continue
        if not row.label:
            missing_label = True
            items.append(dict(item))
            continue
        if row.label != item["label"]:
            outcome.renamed.append(item["key"])
        items.append({"key": item["key"], "label": row.label})
    if missing_label:
        errors.append(
            f"Vui lòng nhập tên cho mọi {kind.noun}, hoặc đánh dấu “Bỏ” nếu không dùng nữa."
        )
    taken = {item["key"] for item in current}
    for row in rows:
        if row.key is None and row.label:
            key = make_key(row.label, taken, kind.fallback_key)
            taken.add(key)
            items.append({"key": key, "label": row.label})
            outcome.added.append(key)
    errors.extend(list_problems(kind, items))
    return outcome


def list_problems(kind: ItemKind, items: list[dict[str, str]]) -> list[str]:
    """What is wrong with a whole list: empty, too long, a label too long or used twice."""
    problems = []
    if not items:
        problems.append(f"Cuộc thi cần ít nhất một {kind.noun}.")
    if len(items) > kind.max_items:
        problems.append(
            f"Tối đa {kind.max_items} {kind.noun}; hiện có {len(items)}. "
            f"Vui lòng bỏ bớt {len(items) - kind.max_items} {kind.noun}."
        )
    for item in items:
        if len(item["label"]) > LABEL_MAX:
            problems.append(
                f"Tên “{item['label'][:20]}…” dài quá {LABEL_MAX} ký tự. Vui lòng viết ngắn hơn."
            )
    seen: dict[str, str] = {}
    for item in items:
        folded = fold(item["label"])
        if folded in seen:
            problems.append(
                f"Tên “{item['label']}” trùng với “{seen[folded]}”. "
                f"Mỗi {kind.noun} cần một tên khác nhau."
            )
        else:
            seen[folded] = item["label"]
    return problems


def keys_in_use(campaign: Campaign | None, kind: ItemKind, keys: set[str]) -> dict[str, int]:
    """key -> how many assists of the campaign use it (in any revision, voided or not)."""
    if campaign is None or campaign.id is None or not keys:
        return {}
    found = {}
    for key in sorted(keys):
        if kind is STEPS:
            where = Assist.steps.contains(f",{key},", autoescape=True)
        else:
            where = Assist.category == key
        count = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Assist.record_id))).where(
                Assist.campaign_id == campaign.id, where
            )
        )
        if count:
            found[key] = count
    return found
