"""The classic similarity indices as people see them: names, labels, how to read a score.

One entry per index, read by the CLI's ``--index`` and ``--rerank`` choices and help, the
settings dialog's re-rank list and the compare dialog's table; :mod:`.compare` computes
them, and is long enough without these texts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Index:
    """One index as people see it: the CLI's help, the settings dialog and the compare dialog read these."""

    name: str
    label: str
    #: What it looks at, in a few words.
    measures: str
    #: How to read a score, in the compare dialog.
    reading: str
    #: False for a distance, where lower is more similar.
    higher_is_better: bool


#: The indices by name, in the order lists show them; :func:`.compare._scorer` computes each.
INDEX_SPECS = {index.name: index for index in (
    Index("ssim", "SSIM", "pixel-aligned structure", "pixel-aligned structure; 1 = identical", True),
    Index("cwssim", "CW-SSIM", "forgives small shifts", "forgives small shifts; 1 = identical", True),
    Index("mse", "Mean squared error", "grey-level difference", "grey-level difference; 0 = identical", False),
    Index("sift", "SIFT keypoints", "the same image turned or cropped", "keypoints matching in one view; 1 = all",
          True),
    Index("emd", "Palette distance (EMD)", "colours only, not the motif", "palette distance in ΔE; 0 = same colours",
          False),
)}
