"""Base models: presets from config, the tiny model builder, the structural/SID token registry, and
loading a causal LM for training or generation (same code path for tiny and real models)."""
