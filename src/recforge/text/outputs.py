"""The expected shape of each task's answer: JSON schemas for structured tasks and parsers for the
free-text formats the seed papers use."""

from __future__ import annotations

import json
import re
from typing import Any

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

# Seed 003 stage 1 (Amazon): four aspects, each with its evidence; every value a string or null.
ASPECT_KEYS: tuple[str, ...] = (
    "category_preference_reason",
    "category_preference",
    "purchase_purpose_reason",
    "purchase_purpose",
    "quality_criteria_reason",
    "quality_criteria",
    "usage_context_reason",
    "usage_context",
)
ASPECTS_SCHEMA: dict = {
    "type": "object",
    "required": list(ASPECT_KEYS),
    "additionalProperties": False,
    "properties": {key: {"type": ["string", "null"]} for key in ASPECT_KEYS},
}
# Seed 003 stage 3: 2-7 personas (1 when the item has a single review, hence minItems 1).
REVIEW_PERSONAS_SCHEMA: dict = PERSONAS_SCHEMA

# Tasks whose answer must validate against a schema (the LLM layer repairs invalid answers).
OUTPUT_SCHEMAS: dict[str, dict] = {
    "personas": PERSONAS_SCHEMA,
    "review_aspects": ASPECTS_SCHEMA,
    "review_personas": REVIEW_PERSONAS_SCHEMA,
}

_NULL_WORDS = frozenset({"", "none", "null", "n/a", "na", "not mentioned", "unknown", "-"})
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERAL = re.compile(r"(?<![\w\"])(None|True|False)(?![\w\"])")


class AspectParseError(ValueError):
    pass


def _json_object(text: str) -> tuple[Any, bool]:
    """(value, repaired) from a model's answer: fences stripped, the outermost {...} taken; when that
    does not parse, the usual slips are repaired (trailing commas, Python None/True/False, curly
    quotes, a missing closing brace of a cut-off answer)."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    start = stripped.find("{")
    if start < 0:
        raise AspectParseError("no JSON object in the answer")
    end = stripped.rfind("}")
    body = stripped[start : end + 1] if end > start else stripped[start:]
    try:
        return json.loads(body), False
    except json.JSONDecodeError:
        pass
    fixed = body.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    fixed = _PY_LITERAL.sub(lambda m: {"None": "null", "True": "true", "False": "false"}[m.group(1)], fixed)
    fixed = _TRAILING_COMMA.sub(r"\1", fixed)
    if fixed.count("{") > fixed.count("}"):
        fixed = fixed.rstrip().rstrip(",") + "}" * (fixed.count("{") - fixed.count("}"))
    try:
        return json.loads(fixed), True
    except json.JSONDecodeError as error:
        raise AspectParseError(f"the JSON does not parse after repair: {error}") from None


def _aspect_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = "; ".join(str(v).strip() for v in value if v is not None and str(v).strip())
    text = " ".join(str(value).split())
    return None if text.lower() in _NULL_WORDS else text


def parse_aspects(text: str) -> tuple[dict[str, str | None], bool]:
    """Seed 003 stage-1 answer -> ({key: str or None for the 8 ASPECT_KEYS}, repaired).

    Strict JSON first; then repairs: JSON slips (see _json_object), keys in another case or with
    spaces, missing keys (null), unknown keys dropped, lists joined with "; ", "none"/"n/a"/"" -> null.
    `repaired` is True when anything had to be changed. Raises AspectParseError when no object can be
    read or when it has none of the keys: a failure is counted by the caller, never turned into {}.
    """
    value, repaired = _json_object(text)
    if not isinstance(value, dict):
        raise AspectParseError("the JSON is not an object")
    normalised = {re.sub(r"[\s-]+", "_", str(k).strip().lower()): v for k, v in value.items()}
    known = [k for k in ASPECT_KEYS if k in normalised]
    if not known:
        raise AspectParseError(f"none of the aspect keys in {sorted(value)[:8]}")
    out = {key: _aspect_value(normalised.get(key)) for key in ASPECT_KEYS}
    exact = set(value) == set(ASPECT_KEYS) and all(v is None or isinstance(v, str) for v in value.values())
    changed = any(out[k] != value.get(k) for k in ASPECT_KEYS if isinstance(value.get(k), str) or value.get(k) is None)
    return out, repaired or not exact or changed


# "Selection: P3", "Selection: [P3]", "**Selection:** 3. B08TVYZQ1G_P3" (the two formats the seed notes
# found: the released regex read neither the second nor a bold label).
_SELECTION_LINE = re.compile(r"\*{0,2}\s*Selection\s*\*{0,2}\s*:\s*\*{0,2}\s*([^\n]*)", re.IGNORECASE)
_UNIQUE_ID = re.compile(r"([A-Za-z0-9]+)_P(\d+)\b")
_PERSONA_ID = re.compile(r"\bP(\d+)\b", re.IGNORECASE)
_NUMBER = re.compile(r"^\[?\s*(\d+)\b")


def parse_persona_selection(text: str, persona_ids: list[str] | set[str], item_id: str | None = None) -> str | None:
    """The persona ID ("P3") a seed-003 judge selected, or None when none of `persona_ids` is named.

    Reads the last "Selection:" line in either format: a bare ID ("P3", "[P3]"), or a number with the
    unique persona id ("3. B08TVYZQ1G_P3": the unique id wins, and must name `item_id` when given;
    a bare number n means "Pn")."""
    matches = _SELECTION_LINE.findall(text)
    if not matches:
        return None
    rest = matches[-1].strip().strip("*").strip()
    chosen = None
    unique = _UNIQUE_ID.search(rest)
    if unique:
        if item_id is not None and unique.group(1) != item_id:
            return None
        chosen = f"P{int(unique.group(2))}"
    elif (bare := _PERSONA_ID.search(rest)) is not None:
        chosen = f"P{int(bare.group(1))}"
    elif (number := _NUMBER.search(rest)) is not None:
        chosen = f"P{int(number.group(1))}"
    return chosen if chosen in set(persona_ids) else None

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
