"""The models / embedder / llm config sections: schema, presets, and the objects they build."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from recforge.embed import EmbedderSpec
from recforge.llm import LLMSettings
from recforge.models.presets import base_model
from recforge.models.tiny import TinyModelConfig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@pytest.fixture(scope="module")
def schema():
    return yaml.safe_load((REPO / "config" / "schema.yaml").read_text())


def test_default_config_is_valid(config, schema):
    jsonschema.validate(config, schema)


@pytest.mark.parametrize(
    "path",
    [
        ("models", "tiny", "hidden"),
        ("models", "tiny", "pretrain", "epochs"),
        ("models", "presets", "qwen3-4b", "revision"),
        ("embedder", "presets", "minilm", "pooling"),
        ("llm", "openai", "api_key"),  # a key must never be written into config
        ("llm", "tasks", "item_summary", "style"),
        ("llm", "colour"),
    ],
)
def test_unknown_keys_are_errors(config, schema, path):
    bad = copy.deepcopy(config)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_a_preset_is_built_or_has_a_path(config, schema):
    bad = copy.deepcopy(config)
    bad["models"]["presets"]["mine"] = {"dtype": "bfloat16"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_presets_resolve(config):
    tiny = base_model(config["models"], "Movies")
    assert tiny.build and tiny.path == "results/Movies/models/tiny" and tiny.dtype == "float32"
    qwen = base_model(config["models"], "Movies", "qwen3-4b")
    assert not qwen.build and qwen.path == "Qwen/Qwen3-4B" and qwen.dtype == "bfloat16"
    assert qwen.lora.target_modules == ("k_proj", "v_proj")
    lora = qwen.lora.peft_config()
    assert lora.r == 8 and lora.lora_alpha == 16 and set(lora.target_modules) == {"k_proj", "v_proj"}
    for name in config["models"]["presets"]:
        base_model(config["models"], "Beauty", name)
    with pytest.raises(KeyError, match="unknown model preset"):
        base_model(config["models"], "Movies", "gpt-5")


def test_sections_build_their_objects(config):
    tiny = TinyModelConfig.from_dict(config["models"]["tiny"], domain="movie")
    assert tiny.pretrain.steps == config["models"]["tiny"]["pretrain"]["steps"]
    assert tiny.corpus.domain == "movie" and tiny.corpus.seed == tiny.pretrain.seed == 0
    for name, raw in config["embedder"]["presets"].items():
        assert EmbedderSpec.from_dict(name, raw).name == name
    assert config["embedder"]["default"] in config["embedder"]["presets"]
    llm = config["llm"]
    for backend in ("openai", "transformers", "vllm"):
        section = {k: v for k, v in llm[backend].items() if k != "price_per_million"}
        section["model"] = section.get("model") or "some/model"
        settings = LLMSettings.from_dict({"backend": backend, "max_repairs": 1, backend: section})
        assert getattr(settings, backend).model == section["model"]
    assert LLMSettings.from_dict({"backend": llm["backend"]}).backend == "heuristic"
