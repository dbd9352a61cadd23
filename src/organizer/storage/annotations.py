"""What a designer notes on an image, as Eagle and Lightroom keep it: tags, a star rating, a colour label.

Plain data, so the cache stores it, the folder model edits it and the export writes it,
none of them knowing the others.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The colour labels, in the order menus list them; "none" is no label.
LABELS = ("none", "red", "orange", "yellow", "green", "blue", "purple")
MAX_RATING = 5


def check_rating(rating: int) -> int:
    """``rating`` as a whole number of stars; a ValueError names the range when it is outside."""
    if not 0 <= int(rating) <= MAX_RATING:
        raise ValueError(f"a rating is 0 to {MAX_RATING} stars, not {rating}")
    return int(rating)


def check_label(label: str | None) -> str:
    """``label`` as stored (lower case, "none" for no label); a ValueError lists the labels when it is unknown."""
    label = (label or "none").strip().lower()
    if label not in LABELS:
        raise ValueError(f"unknown colour label {label!r}; choose one of {', '.join(LABELS)}")
    return label


def clean_tag(text: str) -> str:
    """A tag as stored: trimmed, inner runs of spaces made one; empty when nothing is left."""
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Annotation:
    """One image's tags (kept in the order added, no repeats), rating (0-5) and colour label."""

    tags: tuple[str, ...] = ()
    rating: int = 0
    label: str = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "rating", check_rating(self.rating))
        object.__setattr__(self, "label", check_label(self.label))
        tags = tuple(dict.fromkeys(t for t in map(clean_tag, self.tags) if t))
        object.__setattr__(self, "tags", tags)

    @property
    def empty(self) -> bool:
        """Nothing noted: the cache keeps no row for it."""
        return self == EMPTY

    def has_tag(self, tag: str) -> bool:
        """Whether the image carries ``tag``, in any case."""
        wanted = clean_tag(tag).casefold()
        return any(t.casefold() == wanted for t in self.tags)


EMPTY = Annotation()
