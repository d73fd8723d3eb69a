"""Initialising students from a fine-tuned teacher: its input embeddings, its layers.

Embedding students (mlp, bilstm, cnn) can start from the teacher's input embeddings:

1. **Alignment** (``align_embeddings``): every token of the student's vocabulary gets the
   teacher's row for the same token string when the teacher has one (a WordPiece student
   shares the teacher's vocabulary, so its table is copied exactly); otherwise the mean of
   the teacher's WordPiece rows that the teacher's tokenizer splits the token into (a
   word-level vocabulary: "filmmaking" -> mean("film", "##making")); a token the teacher
   cannot split at all gets the teacher's [UNK] row.
2. **Projection** (``project``) to the student's embedding size ``dim``, fixed (never
   trained, fully determined by the teacher):

   - ``dim == hidden``: the rows as they are.
   - ``dim < hidden``: PCA, the top ``dim`` principal directions of the teacher's whole
     embedding table (centred). XtremeDistil (Mukherjee & Awadallah, ACL 2020) shrank
     mBERT's WordPiece embeddings to 300 dimensions the same way, with an SVD; PCA keeps
     the most variance any linear map to ``dim`` dimensions can.
   - ``dim > hidden``: a fixed random orthonormal map (seeded), which preserves every dot
     product and norm of the teacher's rows exactly; the extra dimensions start as
     rotations of the teacher's, not noise.

Pure torch on tensors, except ``teacher_input_embeddings`` and ``teacher_tokenizer``,
which read the teacher's folder (``config.json`` + weights + ``tokenizer.json``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import torch
from distill_bench.plugin_api.errors import BenchError
from distill_bench.stages.student.io import load_tokenizer_file

PROJECTION_SEED = 0  # the random orthonormal map for dim > hidden


def teacher_tokenizer(teacher_dir: Path):
    path = Path(teacher_dir) / "tokenizer.json"
    if not path.is_file():
        raise BenchError(f"teacher {teacher_dir}: no tokenizer.json to align embeddings with")
    return load_tokenizer_file(path)


def load_teacher(teacher_dir: Path, **kwargs):
    """The fine-tuned teacher as an AutoModelForSequenceClassification (any architecture)."""
    import transformers
    from transformers import AutoModelForSequenceClassification

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    if teacher_dir is None or not Path(teacher_dir).is_dir():
        raise BenchError(
            f"the fine-tuned teacher folder {teacher_dir} is missing (its cache entry was "
            "deleted?): this student is initialised from the teacher; run the cell again "
            "to fine-tune the teacher"
        )
    return AutoModelForSequenceClassification.from_pretrained(str(teacher_dir), **kwargs)


def teacher_embedding_table(teacher_dir: Path) -> torch.Tensor:
    """The teacher's input (token) embedding table, [teacher_vocab, hidden], float32."""
    model = load_teacher(teacher_dir)
    return model.get_input_embeddings().weight.detach().float().clone()


def align_embeddings(table: torch.Tensor, teacher_tok, tokenizer) -> torch.Tensor:
    """Rows of ``table`` (indexed by ``teacher_tok``'s ids) for each id of ``tokenizer``:
    the same token's row, else the mean of the teacher pieces of that token, else [UNK]."""
    size = tokenizer.get_vocab_size()
    out = torch.empty(size, table.shape[1], dtype=table.dtype)
    teacher_vocab = teacher_tok.get_vocab()
    unk = teacher_tok.token_to_id("[UNK]")
    unk_row = table[unk] if unk is not None else torch.zeros(table.shape[1], dtype=table.dtype)
    missing: list[tuple[int, str]] = []
    for i in range(size):
        token = tokenizer.id_to_token(i)
        j = teacher_vocab.get(token) if token is not None else None
        if j is not None and j < table.shape[0]:
            out[i] = table[j]
        else:
            missing.append((i, token or ""))
    if missing:
        pieces = teacher_tok.encode_batch([t for _, t in missing], add_special_tokens=False)
        for (i, _), enc in zip(missing, pieces, strict=True):
            ids = [j for j in enc.ids if j < table.shape[0]]
            out[i] = table[ids].mean(0) if ids else unk_row
    return out


def _fix_signs(vectors: torch.Tensor) -> torch.Tensor:
    """Columns of ``vectors`` with their largest-magnitude entry positive (deterministic)."""
    index = vectors.abs().argmax(0)
    signs = torch.sign(vectors[index, torch.arange(vectors.shape[1])])
    return vectors * torch.where(signs == 0, torch.ones_like(signs), signs)


def pca_basis(table: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean [hidden], basis [hidden, dim]): the top ``dim`` principal directions of the rows."""
    x = table.double()
    mean = x.mean(0)
    centred = x - mean
    covariance = centred.T @ centred / max(1, x.shape[0] - 1)
    _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
    basis = _fix_signs(vectors.flip(1)[:, :dim])
    return mean.to(table.dtype), basis.to(table.dtype)


def orthonormal_map(hidden: int, dim: int, seed: int = PROJECTION_SEED) -> torch.Tensor:
    """A fixed random [hidden, dim] matrix with orthonormal rows (hidden <= dim)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, hidden, generator=g, dtype=torch.float64))
    return _fix_signs(q).T.contiguous()  # [hidden, dim]; q has orthonormal columns


def project(rows: torch.Tensor, dim: int, fit_on: torch.Tensor | None = None) -> torch.Tensor:
    """``rows`` [n, hidden] mapped to [n, dim] (see the module docstring); the PCA for
    dim < hidden is fitted on ``fit_on`` (the teacher's whole table) when given."""
    hidden = rows.shape[1]
    if dim == hidden:
        return rows.clone()
    if dim < hidden:
        mean, basis = pca_basis(rows if fit_on is None else fit_on, dim)
        return (rows - mean) @ basis
    return rows @ orthonormal_map(hidden, dim).to(rows.dtype)


def teacher_input_embeddings(teacher_dir: Path, tokenizer, dim: int) -> torch.Tensor:
    """[tokenizer vocab, dim] initial embeddings for a student reading ``tokenizer``, from
    the input embeddings of the fine-tuned teacher in ``teacher_dir``."""
    table = teacher_embedding_table(teacher_dir)
    rows = align_embeddings(table, teacher_tokenizer(teacher_dir), tokenizer)
    return project(rows, dim, fit_on=table).float()


def parse_layers(layers: Sequence[int] | str, total: int) -> list[int]:
    """Teacher layer indices from ``[0, 2, 4]`` or ``"0,2,4"``; empty means every other
    layer from the first (DistilBERT: 6 of BERT-base's 12)."""
    if isinstance(layers, str):
        try:
            layers = [int(x) for x in layers.replace(" ", "").split(",") if x]
        except ValueError:
            raise BenchError(
                f"option 'layers' must be comma-separated integers, got {layers!r}"
            ) from None
    chosen = list(layers) or list(range(0, total, 2))
    bad = [i for i in chosen if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < total]
    if bad:
        raise BenchError(
            f"layers {chosen}: {bad[0]!r} is not a layer of the teacher (0..{total - 1})"
        )
    return chosen


def encoder_layer_list(model, total: int) -> str:
    """Dotted name of the ModuleList holding the encoder's ``total`` layers."""
    from torch import nn

    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) == total and name
    ]
    if not names:
        raise BenchError(f"{type(model).__name__}: found no list of {total} encoder layers")
    return min(names, key=len)  # the encoder's, not a list nested inside a layer


def truncated_copy(teacher, layers: Sequence[int], num_labels: int, attn_implementation="eager"):
    """A ``len(layers)``-layer model of the teacher's architecture whose embeddings, layer i
    (= teacher layer ``layers[i]``), pooler and classifier are copies of the teacher's.

    The classifier is copied only when its shape matches ``num_labels``; otherwise it
    keeps its random initialisation."""
    from transformers import AutoModelForSequenceClassification

    total = teacher.config.num_hidden_layers
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(layers)
    config.num_labels = num_labels
    student = AutoModelForSequenceClassification.from_config(
        config, attn_implementation=attn_implementation
    )
    prefix = encoder_layer_list(teacher, total) + "."
    source = teacher.state_dict()
    target = student.state_dict()
    copied = {}
    for key, value in target.items():
        if key.startswith(prefix):
            index, rest = key[len(prefix) :].split(".", 1)
            src_key = f"{prefix}{layers[int(index)]}.{rest}"
        else:
            src_key = key
        src = source.get(src_key)
        if src is None:
            raise BenchError(f"cannot copy {key} from the teacher: it has no {src_key}")
        if src.shape == value.shape:
            copied[key] = src
        elif not key.startswith(("classifier", "score")):
            raise BenchError(f"cannot copy {key}: {tuple(src.shape)} != {tuple(value.shape)}")
    student.load_state_dict(copied, strict=False)
    return student
