"""The CNN, the published BiLSTM/MLP/BERT shapes, teacher-derived students and embeddings.

Students here read the tiny teacher's WordPiece tokenizer (or a word vocabulary built
from it), with ``teacher_dir`` set, the way the runner builds them.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from distill_bench import BenchError
from distill_bench.plugin_api.registry import load_registry
from distill_bench.plugin_api.specs import ATTENTIONS, HIDDEN_STATES, LOGITS
from distill_bench.stages.batching import pad
from distill_bench.stages.measure.memory import count_parameters
from distill_bench.stages.student.from_teacher import (
    align_embeddings,
    load_teacher,
    parse_layers,
    project,
    truncated_copy,
)
from distill_bench.stages.student.io import (
    StudentContext,
    encode,
    load_student,
    load_tokenizer_file,
    save_student,
    student_tokenizer,
)
from distill_bench.stages.student.loop import as_output, make_optimizers, optimizer_step
from torch import nn

from tests.helpers import synthetic_sentences

REGISTRY = load_registry()
EMBEDDING_STUDENTS = ["cnn", "mlp-dan", "bilstm-tang", "bilstm-intel", "bilstm-xtremedistil"]
TRANSFORMERS = ["transformer", "transformer-tiny", "transformer-mini", "transformer-small"]
NEW_STUDENTS = [*EMBEDDING_STUDENTS, *TRANSFORMERS, "teacher-layers"]


@pytest.fixture(autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


TEXTS, LABELS = zip(*synthetic_sentences(24, seed=5), strict=True)


def build(name: str, teacher_dir, seed: int = 0, **options):
    """(model, ctx) as the student stage builds them: vocabulary first, then the module."""
    spec = REGISTRY.get("students", name)
    resolved = spec.resolve(options, "test")
    teacher_tok = load_tokenizer_file(teacher_dir / "tokenizer.json")
    tokenizer = student_tokenizer(resolved, teacher_tok, TEXTS)
    ctx = StudentContext(2, tokenizer, teacher_dir, spec.special_tokens)
    torch.manual_seed(seed)
    model = spec.factory(resolved, ctx)
    if getattr(model, "tokenizer", None) is not None:
        ctx = StudentContext(2, model.tokenizer, teacher_dir, spec.special_tokens)
    return model, ctx


def batch(ctx, texts=TEXTS):
    return pad(encode(ctx.tokenizer, texts, 32, ctx.special_tokens))


def train(model, ids, mask, labels, steps: int = 8, lr: float | None = None) -> tuple[float, float]:
    """Cross-entropy on (ids, mask) before and after ``steps`` optimiser steps."""

    def eval_loss() -> float:
        model.eval()
        with torch.no_grad():
            return F.cross_entropy(as_output(model(ids, mask))["logits"], labels).item()

    before = eval_loss()
    optimizers = make_optimizers(model, lr or getattr(model, "learning_rate", None) or 1e-2)
    for _ in range(steps):
        model.train()
        optimizer_step(optimizers, F.cross_entropy(as_output(model(ids, mask))["logits"], labels))
    return before, eval_loss()


# (learning rate, steps) where the defaults (model.learning_rate, else 1e-2; 8 steps) do
# not suit: XtremeDistil's 600-unit BiLSTM overshoots at 1e-2 (the paper used Adam at 1e-3);
# a transformer from scratch needs ~30 steps to find the one cue word; the tiny teacher is
# random, not fine-tuned, so teacher-layers at BERT's fine-tuning rate would barely move.
TRAINING = {
    "bilstm-xtremedistil": (3e-3, 8),
    **{name: (None, 30) for name in TRANSFORMERS},
    "teacher-layers": (3e-3, 40),
}


@pytest.mark.parametrize("name", NEW_STUDENTS)
def test_every_new_student_trains_on_tiny_data(name, tiny_teacher_dir):
    """A few optimiser steps on 24 sentiment-like sentences cut the loss by 20%."""
    model, ctx = build(name, tiny_teacher_dir)
    ids, mask = batch(ctx)
    lr, steps = TRAINING.get(name, (None, 8))
    before, after = train(model, ids, mask, torch.tensor(LABELS), steps=steps, lr=lr)
    assert after < 0.8 * before, (before, after)


def test_new_students_declare_what_they_expose():
    for name in EMBEDDING_STUDENTS:
        spec = REGISTRY.get("students", name)
        assert spec.exposes == {LOGITS, HIDDEN_STATES} and not spec.special_tokens
    for name in [*TRANSFORMERS, "teacher-layers", "pretrained"]:
        spec = REGISTRY.get("students", name)
        assert spec.exposes == {LOGITS, HIDDEN_STATES, ATTENTIONS} and spec.special_tokens


@pytest.mark.parametrize(
    "name, layers, hidden, heads",
    [("transformer", 2, 128, 2), ("transformer-mini", 4, 256, 4), ("teacher-layers", 1, 32, 2)],
)
def test_transformer_students_expose_hidden_states_and_attentions(
    name, layers, hidden, heads, tiny_teacher_dir
):
    """hidden_states: embeddings output + one per layer, [batch, seq, hidden]; attentions:
    one per layer, [batch, heads, seq, seq]; input starts with [CLS] and ends with [SEP]."""
    model, ctx = build(name, tiny_teacher_dir)
    ids, mask = batch(ctx, TEXTS[:3])
    assert ids[0, 0] == ctx.tokenizer.token_to_id("[CLS]")
    assert set(model.eval()(ids, mask)) == {"logits"}  # nothing more unless a loss asks
    model.expose(frozenset({"hidden_states", "attentions"}))
    out = model(ids, mask)
    size, seq = ids.shape
    assert out["logits"].shape == (size, 2)
    assert len(out["hidden_states"]) == layers + 1
    assert all(h.shape == (size, seq, hidden) for h in out["hidden_states"])
    assert len(out["attentions"]) == layers
    for attention in out["attentions"]:
        assert attention.shape == (size, heads, seq, seq)
        torch.testing.assert_close(attention.sum(-1), torch.ones(size, heads, seq))
        # padded keys get no attention
        assert (attention[..., mask[:, None, None, :].expand_as(attention) == 0] == 0).all()


def test_parse_layers():
    assert parse_layers([0, 2, 4], 6) == [0, 2, 4]
    assert parse_layers("0, 2,4", 6) == [0, 2, 4]
    assert parse_layers([], 12) == [0, 2, 4, 6, 8, 10]  # DistilBERT: every other layer
    assert parse_layers([], 2) == [0]
    with pytest.raises(BenchError, match="not a layer of the teacher"):
        parse_layers([0, 6], 6)
    with pytest.raises(BenchError, match="comma-separated"):
        parse_layers("0;2", 6)


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_teacher_layers_copies_the_chosen_layers(tiny_teacher_dir):
    """layers [1, 0]: student layer 0 = teacher layer 1 and vice versa, tensor for tensor;
    embeddings, pooler and classifier copied; the output equals a teacher truncated by hand."""
    model, ctx = build("teacher-layers", tiny_teacher_dir, layers=[1, 0])
    student = model.model
    teacher = load_teacher(tiny_teacher_dir)
    assert student.config.num_hidden_layers == 2
    for i, j in enumerate([1, 0]):
        assert_same_weights(student.bert.encoder.layer[i], teacher.bert.encoder.layer[j])
    assert_same_weights(student.bert.embeddings, teacher.bert.embeddings)
    assert_same_weights(student.bert.pooler, teacher.bert.pooler)
    assert_same_weights(student.classifier, teacher.classifier)

    one, _ = build("teacher-layers", tiny_teacher_dir, layers=[1])
    by_hand = load_teacher(tiny_teacher_dir, attn_implementation="eager").eval()
    by_hand.bert.encoder.layer = nn.ModuleList([by_hand.bert.encoder.layer[1]])
    by_hand.config.num_hidden_layers = 1
    ids, mask = batch(ctx, TEXTS[:4])
    with torch.no_grad():
        expected = by_hand(input_ids=ids, attention_mask=mask).logits
        got = one.eval()(ids, mask)["logits"]
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_teacher_layers_works_for_mpnet(tmp_path):
    """The generic path (AutoModelForSequenceClassification, the encoder's layer list found
    by name) copies an MPNet teacher, relative attention bias included."""
    from transformers import MPNetConfig, MPNetForSequenceClassification

    config = MPNetConfig(
        vocab_size=40,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=3,
    )
    torch.manual_seed(0)
    MPNetForSequenceClassification(config).save_pretrained(tmp_path)
    teacher = load_teacher(tmp_path, attn_implementation="eager").eval()
    student = truncated_copy(teacher, [3, 1], num_labels=3).eval()
    assert_same_weights(student.mpnet.encoder.layer[0], teacher.mpnet.encoder.layer[3])
    assert_same_weights(student.mpnet.encoder.layer[1], teacher.mpnet.encoder.layer[1])
    assert_same_weights(student.classifier, teacher.classifier)
    teacher.mpnet.encoder.layer = nn.ModuleList([teacher.mpnet.encoder.layer[i] for i in (3, 1)])
    ids = torch.randint(3, 40, (2, 7))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        torch.testing.assert_close(
            student(input_ids=ids, attention_mask=mask).logits,
            teacher(input_ids=ids, attention_mask=mask).logits,
        )


def test_teacher_layers_without_the_teacher_folder_is_a_clear_error(tiny_teacher_dir):
    spec = REGISTRY.get("students", "teacher-layers")
    ctx = StudentContext(2, load_tokenizer_file(tiny_teacher_dir / "tokenizer.json"), None, True)
    with pytest.raises(BenchError, match="teacher's folder is gone"):
        spec.factory(spec.resolve({}, "test"), ctx)


@pytest.mark.parametrize(
    "name, options",
    [
        ("teacher-layers", {"layers": [1]}),
        ("bilstm-intel", {"embedding_init": "teacher"}),
        ("cnn", {"embedding_init": "teacher", "embedding_dim": 16}),
    ],
)
def test_saved_students_rebuild_with_the_same_outputs(name, options, tiny_teacher_dir, tmp_path):
    """save_student / load_student (what measurement does) give back the same logits."""
    model, ctx = build(name, tiny_teacher_dir, **options)
    ids, mask = batch(ctx, TEXTS[:5])
    train(model, ids, mask, torch.tensor(LABELS[:5]), steps=2)
    model.eval()
    options = REGISTRY.get("students", name).resolve(options, "test")
    save_student(tmp_path, model, name, options, ctx)
    rebuilt, ctx2 = load_student(tmp_path, REGISTRY)
    ids2, mask2 = batch(ctx2, TEXTS[:5])
    assert torch.equal(ids2, ids)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(ids2, mask2)["logits"], model(ids, mask)["logits"])


def test_rebuilding_skips_teacher_initialisation_when_the_context_says_so(tiny_teacher_dir):
    """A context with init_weights=False (a checkpoint about to be loaded) builds the same
    architecture without reading teacher weights: no teacher folder needed for embeddings."""
    tokenizer = load_tokenizer_file(tiny_teacher_dir / "tokenizer.json")
    for name, options, teacher_dir in [
        ("mlp", {"embedding_init": "teacher"}, None),
        ("teacher-layers", {"layers": [1]}, tiny_teacher_dir),
    ]:
        spec = REGISTRY.get("students", name)
        resolved = spec.resolve(options, "test")
        full, _ = build(name, tiny_teacher_dir, **options)
        ctx = SimpleNamespace(
            num_labels=2,
            tokenizer=tokenizer,
            vocab_size=tokenizer.get_vocab_size(),
            teacher_dir=teacher_dir,
            special_tokens=spec.special_tokens,
            init_weights=False,
        )
        bare = spec.factory(resolved, ctx)
        shapes = {k: v.shape for k, v in full.state_dict().items()}
        assert {k: v.shape for k, v in bare.state_dict().items()} == shapes


def test_cnn_handles_a_length_one_sentence():
    """Shorter than every filter (widths 3/4/5, and a width-7 variant): finite logits, the
    same alone as padded next to a long sentence; padding never wins the max."""
    ctx = SimpleNamespace(num_labels=3, vocab_size=30, teacher_dir=None, tokenizer=None)
    spec = REGISTRY.get("students", "cnn")
    for widths in ([3, 4, 5], [7]):
        torch.manual_seed(0)
        model = spec.factory(spec.resolve({"filter_widths": widths}, "test"), ctx).eval()
        with torch.no_grad():
            alone = model(*pad([[7]]))["logits"]
            padded = model(*pad([[7], list(range(2, 20))]))["logits"][0]
            # padding ids that are not 0 must not matter either: the mask decides
            ids, mask = pad([[7], list(range(2, 20))])
            ids[0, 1:] = 5
            other = model(ids, mask)["logits"][0]
        assert torch.isfinite(alone).all()
        torch.testing.assert_close(padded, alone[0], atol=1e-6, rtol=0)
        torch.testing.assert_close(other, alone[0], atol=1e-6, rtol=0)
    with pytest.raises(BenchError, match="filter_widths"):
        spec.factory(spec.resolve({"filter_widths": [3, 0]}, "test"), ctx)


class FakeTokenizer:
    def __init__(self, size: int):
        self.size = size

    def get_vocab_size(self) -> int:
        return self.size


def count(name: str, vocab_size: int, **options) -> dict:
    """Parameter counts of a student for 2 labels, built on the meta device (no memory)."""
    spec = REGISTRY.get("students", name)
    ctx = StudentContext(2, FakeTokenizer(vocab_size))
    with torch.device("meta"):
        model = spec.factory(spec.resolve(options, "test"), ctx)
    return count_parameters(model)


def lstm_params(inputs: int, hidden: int) -> int:
    """One direction of one nn.LSTM layer: 4 gates x (input + recurrent weights + 2 biases)."""
    return 4 * hidden * (inputs + hidden) + 2 * 4 * hidden


def test_bilstm_intel_has_about_0_66m_parameters():
    """50-d x 10,000 words + 2 BiLSTM layers of 64 per direction + a 128 -> 2 classifier:
    exactly 658,978, i.e. 0.66M within 0.5%."""
    expected = (
        10_000 * 50
        + 2 * lstm_params(50, 64)
        + 2 * lstm_params(128, 64)
        + (128 * 2 + 2)
    )  # fmt: skip
    got = count("bilstm-intel", 10_000)
    assert got["params_total"] == expected == 658_978
    assert abs(got["params_total"] - 660_000) / 660_000 < 0.005
    assert got["params_embedding"] == 500_000
    spec = REGISTRY.get("students", "bilstm-intel").resolve({}, "test")
    assert (spec["vocab"], spec["vocab_size"]) == ("word", 10_000)  # the harness builds it


def test_other_published_shapes():
    """bilstm-tang: 300-d, 150 per direction, ReLU 400 -> 663,602 without embeddings.
    bilstm-xtremedistil: 300-d, 600 per direction, 768 GELU layer over 30,522 WordPieces."""
    tang = count("bilstm-tang", 50_000)
    assert tang["params_no_embedding"] == 2 * lstm_params(300, 150) + 300 * 400 + 400 + 802
    xd = count("bilstm-xtremedistil", 30_522, embedding_init="random")
    assert xd["params_embedding"] == 30_522 * 300
    assert xd["params_no_embedding"] == 2 * lstm_params(300, 600) + 1200 * 768 + 768 + 768 * 2 + 2
    cnn = count("cnn", 30_522)
    assert cnn["params_no_embedding"] == sum(300 * 100 * w + 100 for w in (3, 4, 5)) + 300 * 2 + 2


@pytest.mark.parametrize(
    "name, hidden, ours, turc",
    [
        ("transformer-tiny", 128, 4_386_178, 4.4),
        ("transformer-mini", 256, 11_171_074, 11.3),
        ("transformer-small", 512, 28_764_674, 29.1),
    ],
)
def test_turc_shapes_match_the_published_sizes(name, hidden, ours, turc):
    """Over BERT's 30,522 WordPieces with pooler and a 2-label head we count 4.39M / 11.17M
    / 28.76M. Turc et al. 2019 list 4.4M / 11.3M / 29.1M for the pretraining checkpoints,
    which add the masked-LM head (a HxH transform, its LayerNorm, a 30,522 output bias;
    decoder tied to the embeddings): ours plus that head rounds to their number."""
    got = count(name, 30_522)["params_total"]
    assert got == ours
    mlm_head = hidden * hidden + hidden + 2 * hidden + 30_522
    assert round((got + mlm_head) / 1e6, 1) == turc


def test_teacher_embeddings_are_copied_for_a_wordpiece_vocabulary(tiny_teacher_dir):
    """embedding_dim = the teacher's hidden size: the table is the teacher's, row for row."""
    model, _ = build("mlp", tiny_teacher_dir, embedding_init="teacher", embedding_dim=32)
    teacher = load_teacher(tiny_teacher_dir).bert.embeddings.word_embeddings.weight
    assert torch.equal(model.embedding.weight.detach(), teacher.detach())
    # word vocabulary: every word of the tiny data is a teacher WordPiece, so rows match
    words, ctx = build(
        "bilstm", tiny_teacher_dir, embedding_init="teacher", embedding_dim=32, vocab="word"
    )
    teacher_vocab = load_tokenizer_file(tiny_teacher_dir / "tokenizer.json").get_vocab()
    for token, i in ctx.tokenizer.get_vocab().items():
        assert torch.equal(
            words.embedding.weight[i].detach(), teacher[teacher_vocab[token]].detach()
        )


def test_word_rows_average_the_teacher_wordpieces():
    """A word the teacher splits ("playing" -> play ##ing) gets the mean of the pieces; a
    word it cannot split at all gets [UNK]."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    pieces = {"[PAD]": 0, "[UNK]": 1, "play": 2, "##ing": 3, "##ed": 4, "good": 5}
    teacher_tok = Tokenizer(models.WordPiece(pieces, unk_token="[UNK]"))
    teacher_tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    teacher_tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words = Tokenizer(
        models.WordLevel(
            {"[PAD]": 0, "[UNK]": 1, "good": 2, "playing": 3, "zzz": 4}, unk_token="[UNK]"
        )
    )
    table = torch.arange(6 * 4, dtype=torch.float32).reshape(6, 4)
    rows = align_embeddings(table, teacher_tok, words)
    torch.testing.assert_close(rows[2], table[5])
    torch.testing.assert_close(rows[3], (table[2] + table[3]) / 2)
    torch.testing.assert_close(rows[4], table[1])
    torch.testing.assert_close(rows[:2], table[:2])


def test_projection_keeps_the_teacher_geometry():
    """dim = hidden: unchanged; dim > hidden: dot products kept exactly (orthonormal map);
    dim < hidden: PCA, the centred rows' top principal directions (variance decreasing)."""
    g = torch.Generator().manual_seed(0)
    table = torch.randn(200, 16, generator=g, dtype=torch.float64) * torch.linspace(3, 0.1, 16)
    assert torch.equal(project(table, 16), table)
    wide = project(table, 40)
    torch.testing.assert_close(wide @ wide.T, table @ table.T)
    torch.testing.assert_close(project(table, 40), wide)  # fixed, not redrawn
    narrow = project(table, 4)
    assert narrow.shape == (200, 4)
    variances = narrow.var(0)
    assert (variances[:-1] >= variances[1:]).all()
    centred = table - table.mean(0)
    top = torch.linalg.svdvals(centred)[:4] ** 2 / 199
    torch.testing.assert_close(variances, top)


def test_freeze_embeddings_leaves_them_unchanged(tiny_teacher_dir):
    for name in ("mlp", "bilstm-intel", "cnn"):
        model, ctx = build(name, tiny_teacher_dir, freeze_embeddings=True)
        frozen = model.embedding.weight.detach().clone()
        others = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        ids, mask = batch(ctx)
        before, after = train(model, ids, mask, torch.tensor(LABELS), steps=4)
        assert after < before
        assert torch.equal(model.embedding.weight, frozen)
        assert all(
            not torch.equal(p, others[n]) for n, p in model.named_parameters() if n in others
        )


def test_embedding_init_teacher_needs_the_teacher_folder(tiny_teacher_dir):
    spec = REGISTRY.get("students", "mlp")
    ctx = StudentContext(2, load_tokenizer_file(tiny_teacher_dir / "tokenizer.json"), None)
    with pytest.raises(BenchError, match='embedding_init = "teacher" needs'):
        spec.factory(spec.resolve({"embedding_init": "teacher"}, "test"), ctx)


@pytest.mark.real_model
def test_pretrained_minilm_loads_and_brings_its_tokenizer(tiny_teacher_dir):
    """The packaged all-MiniLM-L6-v2 with its own uncased BERT vocabulary: 6 layers of 384,
    12 heads, its embeddings as shipped; its tokenizer adds [CLS]/[SEP]; it trains."""
    from distill_bench.plugins.teachers import minilm_path
    from transformers import AutoModel

    model, ctx = build("pretrained", tiny_teacher_dir)
    assert ctx.tokenizer is model.tokenizer and ctx.vocab_size == 30_522
    assert model.learning_rate == 5e-5
    shipped = AutoModel.from_pretrained(minilm_path())
    assert torch.equal(
        model.model.bert.embeddings.word_embeddings.weight,
        shipped.embeddings.word_embeddings.weight,
    )
    ids, mask = batch(ctx, TEXTS[:8])
    assert ids[0, 0] == 101 and ids[0, mask[0].sum() - 1] == 102  # [CLS] ... [SEP]
    model.expose(frozenset({"hidden_states", "attentions"}))
    out = model.eval()(ids, mask)
    assert len(out["hidden_states"]) == 7 and out["hidden_states"][-1].shape[-1] == 384
    assert len(out["attentions"]) == 6 and out["attentions"][0].shape[1] == 12
    before, after = train(model, ids, mask, torch.tensor(LABELS[:8]), steps=6, lr=1e-4)
    assert after < before


def test_a_transformer_student_trains_for_its_own_epoch_count(tiny_teacher_dir):
    """``epochs`` on a transformer student replaces the budget's student_epochs (pretrained
    weights want BERT's 2-4 while embedding students in the same matrix want more); 0
    keeps the budget's, a negative count is refused."""
    from distill_bench.matrix.model import Budget
    from distill_bench.stages.student.loop import TrainingData, distill

    spec = REGISTRY.get("students", "transformer")
    ctx = StudentContext(2, load_tokenizer_file(tiny_teacher_dir / "tokenizer.json"), None)
    shape = {"layers": 1, "hidden_size": 16, "heads": 2}
    ids = [[5, 6, 7], [8, 9], [10, 11, 12, 13]] * 4

    def epochs_run(**options):
        model = spec.factory(spec.resolve({**shape, **options}, "test"), ctx)
        data = TrainingData(
            transfer_ids=ids,
            transfer_labels=[0, 1, 0] * 4,
            teacher_logits=None,
            select_ids=ids[:3],
            select_labels=[0, 1, 0],
            metric=lambda g, p: 0.0,
            num_labels=2,
        )
        info = distill(
            model,
            lambda out, batch: F.cross_entropy(out["logits"], batch.labels),
            data,
            budget=Budget(student_epochs=3, student_batch_size=4),
            seed=0,
            device=torch.device("cpu"),
        )
        return info["epochs"], info["steps"]

    assert epochs_run(epochs=1) == (1, 3)
    assert epochs_run() == (3, 9)
    with pytest.raises(BenchError, match="'epochs' must be >= 0"):
        spec.factory(spec.resolve({**shape, "epochs": -1}, "test"), ctx)


def test_teacher_layers_start_from_the_pretrained_checkpoint_when_asked(tiny_teacher_dir, tmp_path):
    """init = "pretrained": the layers of the checkpoint before fine-tuning and a new head
    (DistilBERT's start, the fair baseline); "finetuned" (default): the fine-tuned teacher's."""
    from transformers import BertForSequenceClassification

    finetuned = tmp_path / "finetuned"
    model = BertForSequenceClassification.from_pretrained(tiny_teacher_dir)
    with torch.no_grad():  # "fine-tuning": every weight moves
        for p in model.parameters():
            p.add_(0.5)
    model.save_pretrained(finetuned)
    (finetuned / "tokenizer.json").write_bytes((tiny_teacher_dir / "tokenizer.json").read_bytes())
    spec = REGISTRY.get("students", "teacher-layers")
    tokenizer = load_tokenizer_file(tiny_teacher_dir / "tokenizer.json")
    ctx = StudentContext(2, tokenizer, finetuned, True, teacher_pretrained=str(tiny_teacher_dir))
    layer = "model.bert.encoder.layer.0.attention.self.query.weight"

    def build(init):
        torch.manual_seed(0)
        return spec.factory(spec.resolve({"layers": [1], "init": init}, "test"), ctx).state_dict()

    pretrained, tuned = build("pretrained"), build("finetuned")
    source = BertForSequenceClassification.from_pretrained(tiny_teacher_dir).state_dict()
    assert torch.equal(pretrained[layer], source[layer.replace("model.", "").replace(".0.", ".1.")])
    assert torch.equal(tuned[layer], model.state_dict()[layer[6:].replace(".0.", ".1.")])
    assert not torch.equal(pretrained["model.classifier.weight"], tuned["model.classifier.weight"])
    with pytest.raises(BenchError, match="pre-trained checkpoint"):
        spec.factory(
            spec.resolve({"init": "pretrained"}, "test"), StudentContext(2, tokenizer, finetuned)
        )
