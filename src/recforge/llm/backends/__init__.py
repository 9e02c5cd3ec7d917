"""Text-generation backends. Each has `name`, `model`, `uses_context`, `identity()`, `run()`, `close()`
(see base.Backend); heavy dependencies (openai, torch/transformers, vllm) are imported only when the
backend is built."""
