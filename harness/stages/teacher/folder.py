"""Is a teacher model path a usable local Hugging Face folder? No torch, nothing written.

Loading (``checkpoint.py``) and the plugins' pre-flight (``bench run --dry-run``) both check
a folder with ``check_local_model``, so they refuse the same folders with the same message,
and the dry run stays free of transformers. (transformers 5 builds an empty tokenizer from a
directory without one instead of failing, hence the tokenizer check.)
"""

from __future__ import annotations

from pathlib import Path

from distill_bench.plugin_api.errors import BenchError

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "spm.model", "merges.txt")


def is_local(path: str) -> bool:
    """A local folder (absolute, ./relative or existing), not a Hub id."""
    return Path(path).is_absolute() or path.startswith(".") or Path(path).exists()


def check_local_model(path: str) -> None:
    """A local model directory must hold a config and a tokenizer; a Hub id is left to
    transformers, which reports what is wrong with it when it loads."""
    if not is_local(path):
        return
    local = Path(path)
    if not local.is_dir():
        raise BenchError(f"teacher model {path}: no such directory")
    if not (local / "config.json").is_file():
        raise BenchError(
            f"teacher model {path}: no config.json (expected a Hugging Face model folder)"
        )
    if not any((local / name).is_file() for name in TOKENIZER_FILES):
        raise BenchError(
            f"teacher model {path}: no tokenizer (expected one of {', '.join(TOKENIZER_FILES)})"
        )
