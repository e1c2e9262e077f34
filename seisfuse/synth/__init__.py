"""Synthetic surveys (`survey.py`) and the noise kinds they carry (`noise.py`)."""

from seisfuse.synth.survey import Survey, SynthConfig, SynthRanges, make_survey, write_volume

__all__ = ["Survey", "SynthConfig", "SynthRanges", "make_survey", "write_volume"]
