"""Patches of the section pool (`pool.py`), drawn by (epoch, index) keys: cropped, flipped left-right and in polarity.

Every branch is odd about zero amplitude (0.5 - x in, 0.5 - y out: BM3D, f-x deconvolution, the
edge pipeline), so a polarity flip is as valid an augmentation as a left-right one. A survey
section's patch (noisy data only) is blind-spot masked as `datasets.BlindSpotPatches` masks a file
patch (Noise2Void, Krull et al. 2019): the raw branch is masked and the edge branch recomputed from
the masked window with its halo; the classical denoisers' branches come from the whole unmasked
section (recomputing BM3D per masked patch would cost seconds per patch), where a hidden pixel's own
noisy value weighs about 1 / (the pixels BM3D averages over) in its estimate: a small leak, stated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from seisfuse.branches import EDGE, RAW
from seisfuse.data.blindspot import BlindSpot, apply_masking, draw_masking
from seisfuse.data.pool import SectionPool
from seisfuse.data.synthetic import clean_item


class PoolPatches(Dataset):
    """Random patches of the pool's sections by (epoch, index) keys: crop, left-right flip, polarity flip."""

    def __init__(self, sections: SectionPool, patch: int, length: int, seed: int, augment: bool = True,
                 real_fraction: float = 0.0, survey_fraction: float = 0.0, blindspot: BlindSpot | None = None) -> None:
        self.sections, self.patch, self.length, self.seed, self.augment = sections, patch, length, seed, augment
        self.blindspot = blindspot
        kinds = {k: [j.index for j in sections.jobs if j.kind == k] for k in ("real", "synthetic", "survey")}
        if kinds["survey"] and blindspot is None:
            raise ValueError("data.pool.survey_files: a survey's sections are learned from by blind-spot masking: set "
                             "data.blindspot (and model.loss.reference: blindspot)")
        referenced = real_fraction if kinds["synthetic"] else 1.0
        shares = {"survey": survey_fraction if kinds["real"] or kinds["synthetic"] else 1.0}
        rest = 1.0 - shares["survey"] if kinds["survey"] else 1.0
        shares["real"] = rest * (referenced if kinds["real"] else 0.0)
        shares["synthetic"] = rest - shares["real"] if kinds["synthetic"] else 0.0
        self.groups = [(kinds[k], shares[k]) for k in ("survey", "real", "synthetic") if kinds[k] and shares[k] > 0]
        if not self.groups:
            raise ValueError("the section pool is empty: set data.pool.sections, real_files or survey_files")

    def __len__(self) -> int:
        return self.length

    def _pick(self, rng: np.random.Generator) -> int:
        """A section index: from the survey, the semi-real or the synthetic sections by their shares."""
        u, acc = rng.random(), 0.0
        for group, share in self.groups:
            acc += share
            if u < acc:
                return int(group[rng.integers(len(group))])
        return int(self.groups[-1][0][rng.integers(len(self.groups[-1][0]))])

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        epoch, i = key if isinstance(key, tuple) else (0, key)
        rng = np.random.default_rng([self.seed, epoch, i, 29])
        index = self._pick(rng) if self.augment else i % len(self.sections)
        arrays = self.sections.load(index)
        h, w = arrays["inputs"].shape[-2:]
        p = self.patch
        if h < p or w < p:
            raise ValueError(f"{self.sections.path(index)}: a {h} x {w} section is smaller than the {p} x {p} patch")
        y0 = int(rng.integers(0, h - p + 1)) if self.augment else (h - p) // 2
        x0 = int(rng.integers(0, w - p + 1)) if self.augment else (w - p) // 2
        flip, negate = (self.augment and rng.random() < 0.5), (self.augment and rng.random() < 0.5)
        if self.sections.jobs[index].kind == "survey":
            cut = self._masked(arrays["inputs"], y0, x0, rng)
        else:
            cut = {k: v[..., y0:y0 + p, x0:x0 + p] for k, v in arrays.items()}
        if flip:
            cut = {k: v[..., ::-1] for k, v in cut.items()}
        if negate:  # polarity: every branch is odd about zero amplitude (0.5)
            cut = {k: (v if k in ("fault", "mask") else 1.0 - v) for k, v in cut.items()}
        source = f"pool:{self.sections.split}:{index}"
        if "mask" not in cut:
            return clean_item(cut["inputs"], cut["edge"], cut["clean"], cut["clean_edge"], cut["fault"], key=source)
        item = clean_item(cut["inputs"], cut["edge"], cut["inputs"][0], cut["edge"], np.zeros_like(cut["edge"]), source)
        return {**item, "target": torch.from_numpy(np.ascontiguousarray(cut["target"], np.float32))[None],
                "mask": torch.from_numpy(np.ascontiguousarray(cut["mask"], np.float32))[None],
                "has_clean": torch.tensor(False)}

    def _masked(self, inputs: np.ndarray, y0: int, x0: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A survey patch: raw masked, edge from the masked window with its halo, denoisers cropped, the target."""
        settings, p = self.sections.settings, self.patch
        pipeline = settings.pipeline
        ya, yb, xa, xb = pipeline.region_bounds(inputs.shape[-2:], y0, y0 + p, x0, x0 + p)
        window = inputs[0, ya:yb, xa:xb]
        masking = draw_masking(window.shape, (y0 - ya, x0 - xa), p, self.blindspot, rng)
        masked = apply_masking(window, masking)
        images = {RAW: masked[y0 - ya:y0 - ya + p, x0 - xa:x0 - xa + p],
                  EDGE: pipeline.apply_window(masked, (ya, xa), y0, y0 + p, x0, x0 + p)}
        names = settings.branches
        stack = np.stack([images[n] if n in images else inputs[names.index(n), y0:y0 + p, x0:x0 + p] for n in names])
        return {"inputs": stack, "edge": images[EDGE], "target": inputs[0, y0:y0 + p, x0:x0 + p],
                "mask": masking.hidden.astype(np.float32)}


def pool_stacks(sections: SectionPool, n: int, kind: str | None = None) -> list[tuple[int, np.ndarray]]:
    """(index, whole branch stack (N, H, W)) of the first n sections (of one kind): validation panels."""
    picks = [j.index for j in sections.jobs if kind is None or j.kind == kind][:n]
    return [(i, sections.load(i)["inputs"]) for i in picks]
