"""Item text rendering and every prompt template, in one place and versioned.

`items` turns canonical item rows into text; `templates` holds the prompt wording (one `PromptTemplate`
per task, with a version that changes whenever the wording does); `render` fills a template from a
task context (`contexts`) into chat messages. LLM stages, the tiny model's pretraining corpus and the
methods all render prompts through here, so a wording change is one edit and one version bump.
"""
