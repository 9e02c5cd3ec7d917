"""The local backends: transformers (batched, real tiny model) and vLLM (request shaping and the
lazy-import error only: vLLM needs a CUDA machine, so its generation is not run here)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from llm_fixtures.helpers import movies_items, shared_test_model
from recforge.llm import LLMError, LLMSettings, ResponseCache, Sampling, generate, make_backend, make_request
from recforge.llm.backends.vllm_offline import sampling_kwargs, structured_outputs
from recforge.llm.settings import TransformersSettings, VLLMSettings
from recforge.text.contexts import item_info
from recforge.text.outputs import PERSONAS_SCHEMA


def requests(n: int, **sampling):
    return [
        make_request(
            r["item_id"],
            "item_summary",
            {"domain": "movie", "item": item_info(r), "max_words": 30},
            Sampling(max_tokens=10, **sampling),
        )
        for r in movies_items().head(n).to_dict("records")
    ]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return shared_test_model(tmp_path_factory)


def test_transformers_batched_equals_one_by_one(model_dir, tmp_path):
    reqs = requests(7)
    with ResponseCache(tmp_path / "a.sqlite") as a, ResponseCache(tmp_path / "b.sqlite") as b:
        batched = generate(
            reqs,
            make_backend(
                LLMSettings(
                    backend="transformers",
                    transformers=TransformersSettings(model=str(model_dir), batch_size=4),
                )
            ),
            a,
            progress=False,
        )
        single = generate(
            reqs,
            make_backend(
                LLMSettings(
                    backend="transformers",
                    transformers=TransformersSettings(model=str(model_dir), batch_size=1),
                )
            ),
            b,
            progress=False,
        )
    assert [r.text for r in batched.responses] == [r.text for r in single.responses]
    assert [r.usage for r in batched.responses] == [r.usage for r in single.responses]
    assert all(0 < r.usage.completion_tokens <= 10 for r in batched.responses)
    assert all(
        r.backend == "transformers" and r.model.startswith(model_dir.name + "@") for r in batched.responses
    )


def test_transformers_model_identity_follows_the_weights(model_dir, tmp_path):
    from recforge.models.loading import fingerprint

    import shutil

    copy = tmp_path / model_dir.name
    shutil.copytree(model_dir, copy)
    assert fingerprint(str(copy)) == fingerprint(str(model_dir))
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF  # a rebuilt model at the same path must not reuse cached answers
    (copy / "model.safetensors").write_bytes(bytes(data))
    assert fingerprint(str(copy)) != fingerprint(str(model_dir))


def test_sampling_reaches_transformers_explicitly(model_dir):
    from recforge.llm.backends.transformers_local import generation_kwargs
    from recforge.models.loading import load_tokenizer

    tok = load_tokenizer(str(model_dir))
    greedy = generation_kwargs(Sampling(max_tokens=5), tok)
    assert greedy["do_sample"] is False and greedy["num_beams"] == 1 and greedy["temperature"] is None
    sampled = generation_kwargs(Sampling(temperature=0.7, top_p=0.9, max_tokens=5), tok)
    assert sampled["do_sample"] is True and sampled["temperature"] == 0.7 and sampled["top_p"] == 0.9


def test_vllm_missing_gives_an_actionable_error():
    try:
        import vllm  # noqa: F401

        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    with pytest.raises(LLMError, match="needs the vllm package on a CUDA machine"):
        make_backend(LLMSettings(backend="vllm", vllm=VLLMSettings(model="Qwen/Qwen3-1.7B")))


def test_vllm_request_shaping():
    request = requests(1, temperature=0.0, seed=3)[0]
    kwargs = sampling_kwargs(request)
    assert kwargs == {
        "n": 1,
        "temperature": 0.0,
        "top_p": 1.0,
        "top_k": -1,
        "max_tokens": 10,
        "seed": 3,
        "stop": None,
        "skip_special_tokens": True,
    }
    sampled = sampling_kwargs(requests(1, temperature=0.8, top_p=0.95, stop=("</think>",))[0])
    assert sampled["top_p"] == 0.95 and sampled["stop"] == ["</think>"]


def test_vllm_structured_output_field_by_version():
    # Only the class lookup is faked: which field carries the schema depends on the vLLM version.
    class StructuredOutputsParams:
        def __init__(self, json):
            self.json = json

    class GuidedDecodingParams(StructuredOutputsParams):
        pass

    new = types.SimpleNamespace(
        sampling_params=types.SimpleNamespace(StructuredOutputsParams=StructuredOutputsParams)
    )
    old = types.SimpleNamespace(
        sampling_params=types.SimpleNamespace(GuidedDecodingParams=GuidedDecodingParams)
    )
    assert structured_outputs(new, PERSONAS_SCHEMA)["structured_outputs"].json == PERSONAS_SCHEMA
    assert structured_outputs(old, PERSONAS_SCHEMA)["guided_decoding"].json == PERSONAS_SCHEMA


def test_backends_import_their_dependencies_lazily():
    code = (
        "import sys, recforge.llm, recforge.text.render, recforge.llm.heuristic;"
        "from recforge.llm import make_backend, LLMSettings; make_backend(LLMSettings());"
        "heavy = [m for m in ('vllm', 'openai', 'torch', 'transformers') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
