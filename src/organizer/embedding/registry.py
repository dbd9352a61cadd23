"""Extractor specs and their stable ids, the cache key for every stored vector.

An id spells out everything that changes the numbers: model, weights, layer taps, pooling,
mode, input size and resize policy. Two runs with the same id may share vectors; changing
any of these gives a new id and so a fresh embedding. The device, precision and runtime are
left out on purpose: bf16 and fp32 vectors agree to a cosine above 0.99, so a folder embedded
on a GPU stays valid on a laptop. The exported runtimes (ONNX Runtime, OpenVINO) give torch
fp32's vectors to a cosine above 0.999 at fp32, and OpenVINO bf16 stays above 0.99 with the
same P@10 on dtd10, as torch's bf16 does (bench/runtimes.py), so they share the cache too. ``VERSION`` is bumped when the descriptor code changes
in a way that alters vectors for an unchanged spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..io.equalize import MEASURE_SIDE as EQUALIZE_SIDE
from ..io.preprocess import POLICIES, TILED_POLICIES
from . import backbones
from .autoencoder import TrainConfig

#: 2: a v1 vector may have been computed while another thread used the same network, whose
#: shared tap outputs then mixed the two calls' images, and been cached wrong for good.
#: 3: views shrunk at most twice are sampled by OpenCV's bilinear warp, not PIL's antialiased resize
#: (io.preprocess): the same retrieval on five sets, but a cosine as low as 0.90 to the old vectors once
#: adapted to a folder, too far to mix them in one.
VERSION = 3
MODES = ("content", "texture", "structure", "colour", "mean-colour", "palette")
POOLINGS = ("avg", "centre", "object")
CNN_MODES = ("content", "texture", "structure")

#: Chosen from measurements on dtd10 (texture photos), rendered bracelet swatches and composed
#: object photos; see docs/benchmarks.md. Block 10 (end of stage 5) carries the geometry that
#: finds bracelet patterns, block 14 (end of stage 6) the texture classes that find DTD's; together
#: they cost a point on dtd10 against the last two stages and win 4 on swatches, 9 on photos.
#: Block 11, stage 6's first, joined them ("Block 11" in docs/benchmarks.md): free, since block 14
#: needs it anyway, and P@10 +0.018 on garment photos, +0.013 on charts, +0.018 on swatches and
#: +0.039 on object photos, for -0.003 on dtd10.
#: Lite1, the default model, is tapped at the same places: the end of stage 5 (block 14), the first block of
#: stage 6 (15) and its end (19). Through the default path ("Lite1 becomes the default") it gains garment
#: photos 0.020, fabric prints 0.027, swatches 0.033 and object photos 0.028 of P@10 over Lite0's 10+11+14,
#: and leaves dtd10 (+0.001) and the charts (-0.002) where they were.
DEFAULT_LAYERS = {"lite0": "_blocks.10,_blocks.11,_blocks.14", "lite1": "_blocks.14,_blocks.15,_blocks.19",
                  "lite2": "_blocks.14,_blocks.19"}
#: Structure mode sees grey images, whose motifs the middle stages match best: on rendered
#: bracelet charts in six colourways the mid preset finds a motif's other colourways at
#: P@5 0.60 against 0.53 with the default taps and 0.45 with the late ones.
STRUCTURE_LAYERS = "mid"
DEFAULT_POLICY = "auto"
#: The side the colour modes describe an image at. They run no network, so whichever model is chosen (its
#: input is 224 to 260 px) must not change their vectors' id.
COLOUR_INPUT = 224
#: The model trained on the user's own folder (folder.extractor); not a pretrained backbone.
AUTOENCODER = "autoencoder"
DEFAULT_POOLING = "object"
#: The centre view is on by default: measured on five labelled sets (docs/benchmarks.md,
#: "Regional views"), it gains garments, swatches and object photos and costs dtd10 and the
#: charts nothing, for one more forward pass on each image that fits one view.
DEFAULT_CENTRE_VIEW = True
#: The centre view's recipe (io.preprocess: which square of the image it sees), named in the id of the
#: vectors it makes (``+cv<version>``; version 1 was written ``+cv``). Raise it with any change there, and add
#: the step from it to the one before to :data:`DEFAULT_CHANGES`, above the earlier ones (a test holds them
#: together).
#: Version 2 goes inside the object a photo shows ("The centre view inside the object").
CENTRE_VIEW_VERSION = 2
#: Adapting to the folder is on by default: measured on five labelled sets (docs/benchmarks.md,
#: "Adapting to the folder"), it gains garment photos and swatches most, dtd10 and object photos a
#: little, and leaves the charts within their noise, for one more forward pass on at most 256 images.
DEFAULT_ADAPT = True
#: The adaptation's recipe (folder.adaptation: its changes, its sample and its fit), named in the id of the
#: vectors it makes (``+lw<version>``), so maps and clusters of an older recipe's vectors are never reused.
#: Raise it with any change there.
ADAPT_VERSION = 1
#: The knot melting's recipe (io.knots: its gate and its blur), named in the id of the vectors it makes
#: (``+kn<version>``). Raise it with any change there: 2 judges a chart alike at any size and in a photo, 3
#: leaves alone a print whose period is the whole pattern (dots, checks, pinstripes).
KNOTS_VERSION = 3
#: Melting knot grids (io.knots) is left to each folder by default (None): a folder most of whose images are
#: knot grids is melted (folder.extractor). Measured through the default path, melting lifts the chart set's
#: P@10 0.237 -> 0.367, bracelet swatches 0.719 -> 0.922 and photos of them 0.644 -> 0.883, and would cost
#: dtd10 0.005, garment photos 0.005 and fabric prints 0.119, folders it leaves alone.
DEFAULT_MELT_KNOTS: bool | None = None
#: Cutting a strip out of the photo it lies in (io.preprocess ``strip_alone``, before melting and tiling), named
#: after the resize policy in the id of the vectors a network makes where that policy tiles long images
#: (``auto+st<version>``). Raise it with any change there. Version 1 lifts the chart set's P@10 0.365 -> 0.390:
#: its photos of bracelets on tables are seen as their strips ("A strip is cut out of its photo"). The colour
#: modes describe the whole image, as before.
STRIP_VERSION = 1
#: The network input sides a spec may ask for, in pixels.
MIN_INPUT, MAX_INPUT = 32, 1024


@dataclass(frozen=True)
class ExtractorSpec:
    """What to compute for every image. Build one with :func:`make_spec`."""

    model: str
    taps: tuple[str, ...]
    mode: str
    size: int
    policy: str
    pooling: str = "avg"
    flip: bool = False
    gram: bool = False
    multiscale: bool = False
    weights: str = "pretrained"
    #: The state_dict file behind a ``file-…`` weights tag; not part of the id.
    weights_file: str = field(default="", compare=False)
    #: Average over the 8 flips and quarter turns (the dihedral group D4): a pattern
    #: matches its rotated and mirrored copies, as repeating tiles and flipped scans need.
    invariant: bool = False
    #: Also see an image that fits one view closer, inside the object a photo shows or else through its
    #: centre region (io.preprocess ``centre_view``): the print of a photographed garment fills a view of its own.
    centre_view: bool = False
    #: Blur a knot grid at its knot pitch before the network sees it (io.knots), so a chart's motif counts
    #: rather than its knots; None leaves it to the folder (folder.extractor), which makes it True or False
    #: before a scan, and which embeds as False where nothing decided.
    melt_knots: bool | None = False
    #: The (brightness, contrast, sharpness) every image is equalized to before embedding,
    #: normally the folder's median (see tools.levels); empty for none.
    equalize: tuple[float, ...] = ()
    #: Project the folder's vectors so that what changes when one of its images is cropped,
    #: turned, lit or coloured differently weighs less (folder.adaptation): the network's vectors
    #: are stored under :attr:`unadapted`'s id, and this id names the projected ones.
    adapted: bool = False

    @property
    def unadapted(self) -> ExtractorSpec:
        """The spec of the network's own vectors, which the cache stores and the projection starts from."""
        return replace(self, adapted=False)

    @property
    def id(self) -> str:
        levels = "+eq" + "-".join(f"{v:g}" for v in self.equalize) if self.equalize else ""
        if self.mode not in CNN_MODES:
            return f"v{VERSION}/{self.mode}{levels}/{self.size}/{self.policy}"
        flags = (("+flip", self.flip), ("+gram", self.gram), ("+ms", self.multiscale), ("+d4", self.invariant),
                 (f"+cv{CENTRE_VIEW_VERSION}", self.centre_view), (f"+kn{KNOTS_VERSION}", self.melt_knots is True),
                 (f"+lw{ADAPT_VERSION}", self.adapted))
        extras = "".join(flag for flag, on in flags if on) + levels
        strips = f"+st{STRIP_VERSION}" if self.cuts_strips else ""
        return (f"v{VERSION}/{self.model}@{self.weights}/{'+'.join(self.taps)}/"
                f"{self.mode}-{self.pooling}{extras}/{self.size}/{self.policy}{strips}")

    @property
    def uses_cnn(self) -> bool:
        return self.mode in CNN_MODES

    @property
    def cuts_strips(self) -> bool:
        """Whether a strip lying in a photo is cut out of it before its tiles are (io.preprocess ``strip_alone``):
        for the networks, where the policy tiles long images."""
        return self.uses_cnn and self.policy in TILED_POLICIES

    @property
    def largest_input(self) -> int:
        """The largest view side any input needs; images are decoded at least this big.

        Equalizing measures at its own resolution, which the decode must then cover too.
        """
        side = 2 * self.size if self.multiscale else self.size
        return max(side, EQUALIZE_SIDE) if self.equalize else side


#: How the default descriptor's id changed, newest first, where the user chose nothing new: the
#: pooling became object pooling, then a centre view joined it, then Lite0's block 11, then the
#: projection learned on the folder, then the centre view went inside the object, then a folder mostly of
#: knot grids melted them, then the knot gate left prints alone (version 3), then Lite1 took Lite0's place,
#: then a strip lying in a photo was cut out of it (issue 17).
#: Whatever a folder's user named, grouped and moved under the old default is read back under the
#: new one; a recipe's new version (the centre view's) renames the ids of every choice that has it. Each
#: is a regular expression and its replacement: the taps changed for Lite0 alone, and the centre view's
#: flag sits among the others a user may have added (flips, equalizing).
DEFAULT_CHANGES = (
    (r"/(auto|tiles)\+st1$", r"/\1"),
    (r"(?<![\w-])lite1@([^/]+)/_blocks\.14\+_blocks\.15\+_blocks\.19/([^/]+)/240/",
     r"lite0@\1/_blocks.10+_blocks.11+_blocks.14/\2/224/"),
    (r"(?<![\w-])lite1@([^/]+)/_blocks\.10\+_blocks\.14/(structure[^/]*)/240/",
     r"lite0@\1/_blocks.7+_blocks.10/\2/224/"),
    (r"\+kn3(?=[+/])", "+kn2"),
    (r"\+kn\d+(?=[+/])", ""),
    (r"\+cv2(?=[+/])", "+cv"),
    (r"\+lw\d+(?=[+/])", ""),
    (r"(?<![\w-])(lite0@[^/]+/)_blocks\.10\+_blocks\.11\+_blocks\.14/", r"\1_blocks.10+_blocks.14/"),
    (r"(-object(?:\+flip|\+gram|\+ms|\+d4)*)\+cv(?=[+/])", r"\1"),
    (r"-object(?=[+/])", "-centre"),
)


def earlier_defaults(extractor_id: str) -> list[str]:
    """The ids ``extractor_id`` had under earlier defaults (see :data:`DEFAULT_CHANGES`), newest first: the
    adaptation's earlier recipes first (``+lw2`` was ``+lw1``), then the chain of earlier descriptors."""
    adapted = re.search(r"\+lw(\d+)(?=[+/])", extractor_id)
    earlier = [extractor_id[:adapted.start()] + f"+lw{version}" + extractor_id[adapted.end():]
               for version in range(int(adapted[1]) - 1, 0, -1)] if adapted else []
    # The descriptor's own changes go on from the first recipe's id: no earlier descriptor had a later recipe.
    current = earlier[-1] if earlier else extractor_id
    for now, before in DEFAULT_CHANGES:
        changed = re.sub(now, before, current, count=1)
        if changed != current:
            current = changed
            earlier.append(current)
    return earlier


def unversioned(extractor_id: str) -> str:
    """``extractor_id`` without its ``v{VERSION}/`` prefix: what the user chose, whatever the code's version.

    Parameters
    ----------
    extractor_id
        An :attr:`ExtractorSpec.id`, of this version or an earlier one; an id without the
        prefix is returned as it is.
    """
    head, slash, rest = extractor_id.partition("/")
    return rest if slash and head[:1] == "v" and head[1:].isdigit() else extractor_id


def make_spec(model: str = backbones.DEFAULT_MODEL, layers: str | None = None,
              mode: str = "content", size: int | None = None, policy: str = DEFAULT_POLICY,
              pooling: str = DEFAULT_POOLING,
              flip: bool = False, gram: bool = False, multiscale: bool = False,
              weights: str | Path | None = "pretrained", invariant: bool = False,
              centre_view: bool = DEFAULT_CENTRE_VIEW, adapt: bool = DEFAULT_ADAPT,
              melt_knots: bool | None = DEFAULT_MELT_KNOTS) -> ExtractorSpec:
    """Validate user choices and return the spec they describe.

    ``layers`` is a preset (early, mid, late), module names, or both, comma-separated;
    ``None`` takes the measured default for the model (or its ``mid`` preset).
    ``weights`` is ``"pretrained"``, ``None`` (random, for tests) or a state_dict file,
    which enters the id by content hash so two different files never share a cache entry.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    if policy not in POLICIES:
        raise ValueError(f"unknown resize policy {policy!r}; choose one of {', '.join(POLICIES)}")
    if model == AUTOENCODER:
        if mode in CNN_MODES:
            # Untrained until folder.extractor.for_folder trains or finds the folder's model.
            return autoencoder_spec(policy)
        model = backbones.DEFAULT_MODEL  # the colour modes use no model at all
    backbone = backbones.get(model)
    if layers is None:
        layers = STRUCTURE_LAYERS if mode == "structure" else DEFAULT_LAYERS.get(model, "mid")
    taps = backbones.resolve_taps(backbone, layers)
    uses_cnn = mode in CNN_MODES
    size = size or (backbone.input_size if uses_cnn else COLOUR_INPUT)
    if not MIN_INPUT <= size <= MAX_INPUT:
        raise ValueError(f"input size {size} is outside {MIN_INPUT}..{MAX_INPUT}")
    weights_file = "" if weights in (None, "pretrained") else str(Path(weights).absolute())
    spec = ExtractorSpec(model, taps, mode, size, policy, pooling, flip, gram, multiscale,
                         _weights_tag(weights), weights_file, invariant, centre_view, melt_knots, adapted=adapt)
    if not uses_cnn:
        # Colour histograms and palettes ignore where colours are, so flips and turns change nothing.
        spec = replace(spec, model="", taps=(), pooling="", flip=False, gram=False, multiscale=False,
                       weights="", weights_file="", invariant=False, centre_view=False, melt_knots=False,
                       adapted=False)
    return spec


def autoencoder_spec(policy: str = DEFAULT_POLICY, training_hash: str = "", model_file: str = "") -> ExtractorSpec:
    """The folder autoencoder's spec: one descriptor, its bottleneck, whatever the mode.

    Its weights tag names the training run (``ae-<hash>``), or ``untrained`` without one.
    """
    weights = f"ae-{training_hash}" if training_hash else "untrained"
    return ExtractorSpec(AUTOENCODER, ("bottleneck",), "content", TrainConfig().size, policy, pooling="code",
                         weights=weights, weights_file=model_file)


def _weights_tag(weights: str | Path | None) -> str:
    if weights is None:
        return "random"
    if weights == "pretrained":
        return "pretrained"
    import hashlib

    path = Path(weights)
    if not path.is_file():
        raise ValueError(f"weights file not found: {path}")
    digest = hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()
    return f"file-{digest}"
