"""RecForge: LLM-based recommendation methods and classic baselines on one evaluator."""

__version__ = "0.1.0"
