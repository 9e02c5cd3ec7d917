"""The expected shape of each task's answer: JSON schemas for structured tasks and parsers for the
free-text formats the seed papers use."""

from __future__ import annotations

import re

PERSONAS_SCHEMA: dict = {
    "type": "object",
    "required": ["personas"],
    "additionalProperties": False,
    "properties": {
        "personas": {
            "type": "array",
            "minItems": 1,
            "maxItems": 7,
            "items": {
                "type": "object",
                "required": ["ID", "Name", "Description", "Preference_Rationale"],
                "additionalProperties": False,
                "properties": {
                    "ID": {"type": "string", "pattern": "^P[0-9]+$"},
                    "Name": {"type": "string", "minLength": 1},
                    "Description": {"type": "string", "minLength": 1},
                    "Preference_Rationale": {"type": "string", "minLength": 1},
                },
            },
        }
    },
}

# Tasks whose answer must validate against a schema (the LLM layer repairs invalid answers).
OUTPUT_SCHEMAS: dict[str, dict] = {"personas": PERSONAS_SCHEMA}

_THEME = re.compile(r"[Tt]heme\s*:\s*(.+)")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_SELECTION = re.compile(r"Selection:\s*\[?(P\d+)\]?", re.IGNORECASE)
_PREDICTION = re.compile(r"Prediction:\s*(Yes|No)\b", re.IGNORECASE)


def parse_theme(text: str) -> str | None:
    """Seed 000's cluster-name parser: the text after "Theme:" (last match), or None."""
    matches = _THEME.findall(text)
    return matches[-1].strip().strip("[]").strip() if matches else None


def parse_answer(text: str) -> str | None:
    """The content of the last <answer>...</answer>, stripped, or None."""
    matches = _ANSWER.findall(text)
    return matches[-1].strip() if matches else None


def parse_selection(text: str) -> str | None:
    match = _SELECTION.search(text)
    return match.group(1).upper() if match else None


def parse_prediction(text: str) -> bool | None:
    """Seed 004: the first "Prediction: Yes|No" -> True/False, or None."""
    match = _PREDICTION.search(text)
    return None if match is None else match.group(1).lower() == "yes"
