"""Evaluation: metrics, the evaluate and benchmark protocols, reference-free QC, and pictures."""
