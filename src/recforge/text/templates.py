"""Every prompt template, versioned.

Wording follows the seed papers where they publish it (seed notes: 000 cluster naming and the rating
prompt, 001 the recommendation-list prompt, 002 item/user summaries, 003 personas and persona
selection, 004 the like/dislike rationale). Placeholders use `string.Template` ($name), so JSON
examples in the text need no brace escaping. Bump `version` whenever the wording changes: the version
is recorded with every output, and the changed text changes every cache key.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    system: str
    user: str

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"

    def fill(self, **fields: object) -> list[dict[str, str]]:
        """Chat messages with every placeholder filled (a missing field is a KeyError, not a blank)."""
        messages = []
        if self.system:
            messages.append({"role": "system", "content": Template(self.system).substitute(fields)})
        messages.append({"role": "user", "content": Template(self.user).substitute(fields)})
        return messages


CLUSTER_NAME = PromptTemplate(
    name="cluster_name",
    version=1,
    system="You are an expert in $domain catalogues who names groups of items by the interest they share.",
    user=(
        "The following are $n_items ${domain}s that have been purchased by the same type of users:\n"
        "$item_lines\n\n"
        "Infer their shared theme: the common interests, the keywords or genres, and the core idea that "
        "unites them.\n"
        "Constraints: one phrase of at most 10 words; abstract; do not use any of the titles.\n"
        "Output format:\n- Theme: [phrase]"
    ),
)

ITEM_SUMMARY = PromptTemplate(
    name="item_summary",
    version=1,
    system="You are a $domain expert who writes concise, factual summaries of catalogue items.",
    user=(
        "Summarise the following $domain in at most $max_words words: what it is, where it sits in "
        "the catalogue and what distinguishes it. Use only the information given; do not invent "
        "facts.\n\n$item_card\n\nSummary:"
    ),
)

USER_SUMMARY = PromptTemplate(
    name="user_summary",
    version=1,
    system="You are a profiling assistant for a $domain recommender system.",
    user=(
        "Below are the $n_items ${domain}s a user interacted with, oldest first, as "
        "Title, Categories, Rating (1 to 5; '?' where unknown):\n$history_lines\n\n"
        "Write a concise persona summary of this user in at most $max_words words. Write in the third "
        'person ("the user"); say what the user likes and dislikes; do not list item ids.'
    ),
)

PERSONAS = PromptTemplate(
    name="personas",
    version=1,
    system="You are a consumer researcher who derives user personas from item data and rating signals.",
    user=(
        "Item:\n$item_card\n\n"
        "Signals from the users who rated this item, one per line (rating; categories the user likes "
        "most; categories the user dislikes most):\n$rater_lines\n\n"
        "Derive between $min_personas and $max_personas distinct personas of people who engage with "
        "this item. Keep critical or minority opinions as separate personas; avoid near-duplicates.\n"
        'Each persona has: "ID" ("P1", "P2", ...), "Name" (2-3 words, Title Case), "Description" '
        '(3 sentences, present tense) and "Preference_Rationale" (one sentence starting "This persona '
        'appreciates this item because", citing a concrete signal).\n'
        'Return only JSON: {"personas": [{"ID": "P1", "Name": "...", "Description": "...", '
        '"Preference_Rationale": "..."}]}'
    ),
)

PERSONA_SELECTION = PromptTemplate(
    name="persona_selection",
    version=1,
    system="You are a recommender-system judge who matches users to item personas.",
    user=(
        "User history (oldest first):\n$profile_lines\n\n"
        "Target item: $target_line\n\nPersona options for the target item:\n$persona_lines\n\n"
        "1. User Profile Analysis: list the user's core preferences.\n"
        "2. Persona Selection: choose exactly one persona option that best explains why this user "
        "engages with the target item, with 2-3 sentences of reasoning.\n"
        "Response Format:\nReasoning: [...]\nSelection: [ID]"
    ),
)

# Seed 003 (Persona4Rec), Amazon prompts: stage 1 reads one review, stage 3 an item summary with the
# extractions of its reviews, stage 4 judges which persona explains a user's choice of the target.
REVIEW_ASPECTS = PromptTemplate(
    name="review_aspects",
    version=1,
    system="",  # the seed sends its prompt as one system message; here the data goes in the user turn
    user=(
        "You analyse one customer review of a $domain and extract why the customer chose it.\n"
        "Review title: $review_title\nRating: $rating\nReview: $review_text\n\n"
        "Return strict JSON with exactly these keys, each a short string or null when the review does "
        "not say: category_preference_reason, category_preference, purchase_purpose_reason, "
        "purchase_purpose, quality_criteria_reason, quality_criteria, usage_context_reason, "
        "usage_context. A *_reason value quotes or paraphrases the review's evidence; the value names "
        "the preference in a few words. Do not invent anything the review does not support.\n"
        'Return only JSON: {"category_preference_reason": ..., "category_preference": ..., ...}'
    ),
)

REVIEW_PERSONAS = PromptTemplate(
    name="review_personas",
    version=1,
    system="You are a consumer researcher who derives item personas from customer reviews.",
    user=(
        "Item summary: $summary\n\n$review_blocks\n\n"
        "Derive between $min_personas and $max_personas distinct personas of the people who choose "
        "this $domain (one persona if there is only one review). Preserve critical or minority "
        "opinions as separate personas; no near-duplicates.\n"
        'Each persona has: "ID" ("P1", "P2", ...), "Name" (2-3 words, Title Case), "Description" '
        '(3 sentences, present tense) and "Preference_Rationale" (one sentence starting "This persona '
        'appreciates this item because", citing a concrete review signal).\n'
        'Return only JSON: {"personas": [{"ID": "P1", "Name": "...", "Description": "...", '
        '"Preference_Rationale": "..."}]}'
    ),
)

REVIEW_PERSONA_SELECTION = PromptTemplate(
    name="review_persona_selection",
    version=1,
    system="You are a recommender-system judge who matches users to item personas.",
    user=(
        "User profile (the most recent reviews, oldest first):\n$profile_lines\n\n"
        "Target Item ID: $target_id\n\nPersona options for the target item:\n$persona_lines\n\n"
        "1. User Profile Analysis: synthesize and list the user's core preferences.\n"
        "2. Persona Selection: choose exactly one persona option that best explains why this user "
        "chose the target item, with 2-3 sentences of reasoning.\n"
        "Response Format:\nReasoning: [...]\nSelection: [ID]"
    ),
)

# The LLM re-ranker Persona4Rec is compared with (benchmarks/persona4rec_latency.py): one call per user
# that orders the first stage's candidate list.
RERANK_CANDIDATES = PromptTemplate(
    name="rerank_candidates",
    version=1,
    system="You are an expert $domain recommender.",
    user=(
        "A user recently interacted with these ${domain}s, oldest first:\n$history_lines\n\n"
        "Candidate ${domain}s:\n$candidate_lines\n\n"
        "Rank all $n_candidates candidates from the most to the least likely next choice of this user. "
        "Answer with the candidate numbers only, comma-separated."
    ),
)

RATIONALE = PromptTemplate(
    name="rationale",
    version=1,
    system="",  # seed 004 sends one instruction block
    user=(
        "You are an expert $domain recommender. You are provided with a user's profile and a list of "
        "recent ${domain}s the user interacted with and whether the user liked or disliked each.\n"
        "User Profile - $profile\n"
        "List of recent items, oldest first -\n$history_lines\n"
        "${label_line}"
        "As an expert $domain recommender, do the following steps -\n"
        "1. Analyze the user's history and summarize the user behavior by identifying the "
        "characteristics the user liked and disliked, in at most 100 words.\n"
        '2. $step_two "$target_line", in at most 100 words.\n'
        "End with one line: Prediction: Yes or Prediction: No"
    ),
)

# Seed 000: system prompt verbatim (with the domain, and the dataset's rating scale where the paper
# wrote 1.0 and 5.0: the same text on a 1-5 scale), user prompt in the generate_feature_rating_prompt
# layout; the answer is <think>...</think><answer>r</answer>.
RATING_COT = PromptTemplate(
    name="rating_cot",
    version=1,
    system=(
        "You are an intelligent recommender system assistant. Your task is to predict the rating (from "
        "$rating_min to $rating_max) that a user will give to a candidate $domain, based on the user's past "
        "behavior and preferences.\n\nYou should first reason about how well the candidate item aligns "
        "with the user\u2019s historical preferences, and then output a predicted rating. Your reasoning and "
        "the final rating must be wrapped with <think> </think> and <answer> </answer> tags, respectively."
        "\n\nThe final rating **must be a numeric value between $rating_min and $rating_max**. Do not "
        "include any extra explanation after the <answer> tag."
    ),
    user=(
        "${sketch_block}Below are the user's recent $domain ratings in the format: Title, Genres, Rating. "
        "Ratings range from $rating_min to $rating_max.\n\n$history_lines\n\n"
        "The candidate $domain is described as: $target_line\n"
        "Based on the above information, what rating will the user give?"
    ),
)

# Seed 001 (RecLM), SeqRec template 0; the answer lists titles as "1. <SOI>title<EOI>".
NEXT_ITEMS = PromptTemplate(
    name="next_items",
    version=1,
    system="You are an expert $domain recommender.",
    user=(
        "You need to generate a recommendation list considering user's preference from historical "
        "interactions. The historical interactions are provided as follows: $history. Please generate a "
        "recommendation list with $n_items different items. Each item should be enclosed by <SOI> and "
        "<EOI>. <SOI> should be generated before item title, and <EOI> should be generated after item "
        "title."
    ),
)

# Seed 001 (RecLM-uni) SFT templates (prompts of the fine-tuned model, not recforge.llm tasks), verbatim from train_utils/template.py (seed notes 001, B.3),
# including the originals' missing space after "interactions." and "according user's". $item_count is
# the list length; $candidates the candidate titles of the candidate templates.
RECLM_SYSTEM = "You are an expert recommender engine as well as a helpful, respectful and honest assistant."
_RECLM_SOI = (" Each item should be enclosed by <SOI> and <EOI>. <SOI> should be generated before item title, "
              "and <EOI> should be generated after item title.")
RECLM_SEQREC = tuple(
    PromptTemplate(name=f"reclm_seqrec_{n}", version=1, system=RECLM_SYSTEM, user=user)
    for n, user in enumerate((
        "You need to generate a recommendation list considering user's preference from historical "
        "interactions.The historical interactions are provided as follows: $history. Please generate a "
        "recommendation list with $item_count different items." + _RECLM_SOI,
        "You need to select a recommendation list from candidate items considering user's preference from "
        "historical interactions.The historical interactions are provided as follows: $history. The candidate "
        "items are: $candidates. Please select a recommendation list with $item_count different items from "
        "candidate items." + _RECLM_SOI,
        "Your task is generating a recommendation list according user's preference from historical "
        "interactions.The historical interactions are provided as follows: $history. Please generate a "
        "recommendation list with $item_count different items.",
        "Your task is selecting a recommendation list from candidate items according user's preference from "
        "historical interactions.The historical interactions are provided as follows: $history. The candidate "
        "items are: $candidates. Please select a recommendation list with $item_count different items from "
        "candidate items.",
    ))
)
# Valid/test (SFTTestSeqRec-CS-MR): the ValSeqRec_MR_group wording plus the SOI instruction.
RECLM_TEST = PromptTemplate(
    name="reclm_test",
    version=1,
    system=RECLM_SYSTEM,
    user=("You need to generate a recommendation list considering user's preference from historical "
          "interactions. The historical interactions are provided as follows: $history. Could you recommend "
          "me a list $item_count different items?" + _RECLM_SOI),
)

TEMPLATES: dict[str, PromptTemplate] = {
    t.name: t
    for t in (
        CLUSTER_NAME,
        ITEM_SUMMARY,
        USER_SUMMARY,
        PERSONAS,
        PERSONA_SELECTION,
        REVIEW_ASPECTS,
        REVIEW_PERSONAS,
        REVIEW_PERSONA_SELECTION,
        RERANK_CANDIDATES,
        RATIONALE,
        RATING_COT,
        NEXT_ITEMS,
    )
}
# TEMPLATES holds the recforge.llm text tasks (each has a renderer); RecLM-uni's templates above are the
# fine-tuned model's own prompts, used by recforge.methods.reclm.samples directly.


def get_template(name: str) -> PromptTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise KeyError(f"unknown prompt template {name!r}; known: {sorted(TEMPLATES)}") from None
