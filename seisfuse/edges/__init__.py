"""The edge branch: a registry of OpenCV image ops by family and `EdgePipeline`, a list of them built from config.

The smoothing ops are the filters of `seisfuse.denoisers.filters` (one implementation each).

Families (one module each, registered on import): smoothing, sharpening, morphology,
detectors. `build_op` is the factory from the YAML form ``{op: name, **params}``.
"""

from seisfuse.edges import detectors, morphology, sharpening, smoothing  # noqa: F401 - registers the ops
from seisfuse.edges.base import AMPLITUDE, MAGNITUDE, REGISTRY, EdgeOp, EdgeOpError, build_op
from seisfuse.edges.pipeline import DEFAULT_PIPELINE, EdgePipeline

__all__ = ["AMPLITUDE", "DEFAULT_PIPELINE", "MAGNITUDE", "REGISTRY", "EdgeOp", "EdgeOpError", "EdgePipeline", "build_op"]
