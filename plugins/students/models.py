"""The built-in students' torch modules. Imported only by the students' factories.

Every module's ``forward(input_ids, attention_mask)`` returns a dict with ``"logits"``
[batch, num_labels] and ``"hidden_states"``; the transformer ones add ``"attentions"``.
Batches are right-padded (``distill_bench.stages.batching.pad``): mask = 1 on a prefix of each row.
"""

from __future__ import annotations

import torch
from distill_bench.plugin_api.specs import ATTENTIONS, HIDDEN_STATES
from distill_bench.stages.student.from_teacher import encoder_layer_list
from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}


class MLPStudent(nn.Module):
    """Mean of word embeddings, then ``layers`` ReLU layers (0: a linear classifier over the
    mean, fastText-style). hidden_states = (the last hidden layer [batch, width],)."""

    def __init__(self, vocab_size, num_labels, embedding_dim, hidden_size, layers, dropout):
        super().__init__()
        # Sparse gradients: a step touches only the rows in the batch, not all 30k.
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0, sparse=True)
        dims = [embedding_dim] + [hidden_size] * layers
        blocks = []
        for d_in, d_out in zip(dims, dims[1:], strict=False):
            blocks += [nn.Dropout(dropout), nn.Linear(d_in, d_out), nn.ReLU()]
        self.body = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(dims[-1], num_labels))

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.unsqueeze(-1).to(self.embedding.weight.dtype)
        pooled = (self.embedding(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        hidden = self.body(pooled)
        return {"logits": self.classifier(hidden), "hidden_states": (hidden,)}


class BiLSTMStudent(nn.Module):
    """Embeddings, a ``num_layers`` BiLSTM, max-pooling over real tokens, an optional
    dense layer (``fc_size`` 0: none), classifier. hidden_states = (the pooled or dense
    features [batch, width],).

    Sentence pairs (``pair_sep``: the separator id) take Tang et al.'s siamese form: both
    sides through the one encoder, then [h1, h2, h1 * h2, |h1 - h2|] into the dense layer."""

    reads_pairs_apart = True  # the factory passes ``pair_sep`` for a pair task

    def __init__(
        self,
        vocab_size,
        num_labels,
        embedding_dim,
        hidden_size,
        fc_size,
        dropout,
        num_layers=1,
        fc_activation="relu",
        pair_sep=None,
    ):
        super().__init__()
        self.pair_sep = pair_sep
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0, sparse=True)
        self.lstm = nn.LSTM(
            embedding_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        width = 2 * hidden_size * (4 if pair_sep is not None else 1)
        if fc_size > 0:
            self.fc = nn.Sequential(
                nn.Dropout(dropout), nn.Linear(width, fc_size), _ACTIVATIONS[fc_activation]()
            )
            width = fc_size
        else:
            self.fc = nn.Identity()
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, num_labels))

    def encode(self, input_ids, attention_mask):
        """Max-pooled BiLSTM states of right-padded sentences [batch, 2 * hidden]."""
        lengths = attention_mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(input_ids), lengths, batch_first=True, enforce_sorted=False
        )
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(
            out, batch_first=True, total_length=input_ids.shape[1]
        )
        # Max-pool over real tokens only: padding must never win the max.
        out = out.masked_fill(~attention_mask.bool().unsqueeze(-1), torch.finfo(out.dtype).min)
        return out.max(dim=1).values

    def forward(self, input_ids, attention_mask):
        if self.pair_sep is None:
            features = self.encode(input_ids, attention_mask)
        else:
            first, second = split_at_separator(input_ids, attention_mask, self.pair_sep)
            h1, h2 = self.encode(*first), self.encode(*second)
            features = torch.cat([h1, h2, h1 * h2, (h1 - h2).abs()], dim=-1)
        hidden = self.fc(features)
        return {"logits": self.classifier(hidden), "hidden_states": (hidden,)}


def split_at_separator(input_ids, attention_mask, sep: int):
    """The two sides of right-padded ``a [SEP] b`` rows, each right-padded on its own:
    ((ids, mask) of the tokens before the first separator, (ids, mask) of those after)."""
    real = attention_mask.bool()
    is_sep = (input_ids == sep) & real
    seen = is_sep.long().cumsum(1)
    first = real & (seen == 0)
    second = real & (seen > 0) & ~(is_sep & (seen == 1))
    width = input_ids.shape[1]
    # left-align the second side: its k-th token goes to column k (others to a spare column)
    target = torch.where(second, second.long().cumsum(1) - 1, torch.full_like(input_ids, width))
    spare = input_ids.new_zeros(input_ids.shape[0], width + 1)
    second_ids = spare.scatter(1, target, input_ids)[:, :width]
    second_mask = torch.arange(width, device=input_ids.device) < second.sum(1, keepdim=True)
    first_mask = first.to(attention_mask.dtype)
    return (input_ids * first_mask, first_mask), (
        second_ids * second_mask,
        second_mask.to(attention_mask.dtype),
    )


class CNNStudent(nn.Module):
    """Kim (2014): convolutions of several widths over word embeddings, ReLU, max-over-time
    pooling, dropout, classifier. hidden_states = (the pooled features [batch, maps * widths],).

    Wide convolution (``width - 1`` zero vectors on each side, as Kim's code padded every
    sentence), and the max runs only over windows that hold at least one real token, with
    padding embeddings zeroed: a sentence scores the same alone or padded in a batch, and a
    sentence shorter than the widest filter (even one token) still has windows."""

    def __init__(self, vocab_size, num_labels, embedding_dim, filter_widths, feature_maps, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0, sparse=True)
        self.convs = nn.ModuleList(
            nn.Conv1d(embedding_dim, feature_maps, w, padding=w - 1) for w in filter_widths
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(feature_maps * len(filter_widths), num_labels)
        )

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.unsqueeze(-1).to(self.embedding.weight.dtype)
        x = (self.embedding(input_ids) * mask).transpose(1, 2)  # [batch, dim, seq]
        lengths = attention_mask.sum(1, keepdim=True)  # [batch, 1]
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))  # [batch, maps, seq + width - 1]; output j sees j-w+1..j
            real = torch.arange(h.shape[-1], device=h.device) < lengths + conv.kernel_size[0] - 1
            h = h.masked_fill(~real.unsqueeze(1), torch.finfo(h.dtype).min)
            pooled.append(h.max(dim=-1).values)
        hidden = torch.cat(pooled, dim=-1)
        return {"logits": self.classifier(hidden), "hidden_states": (hidden,)}


class TransformerStudent(nn.Module):
    """A Hugging Face sequence classifier (``self.model``) behind the student interface.

    It returns logits only, under SDPA attention, unless ``expose`` asks for more: a loss
    that reads hidden_states (embeddings output + one per layer, each [batch, seq, hidden])
    or attentions (one per layer, [batch, heads, seq, seq]) gets them, the attention maps
    from eager attention (SDPA kernels return none). The student stage exposes what the
    cell's loss reads for training only: evaluation and measurement run the plain
    classifier, as the teacher is timed."""

    def __init__(self, model: nn.Module, tokenizer=None):
        super().__init__()
        self.model = model
        if tokenizer is not None:
            self.tokenizer = tokenizer  # its own vocabulary (a pretrained student)
        self.expose(frozenset())

    def expose(self, needs: frozenset[str]) -> None:
        """Return ``needs``' hidden_states and/or attentions from training forwards."""
        self.returns = needs & {HIDDEN_STATES, ATTENTIONS}
        wanted = "eager" if ATTENTIONS in self.returns else "sdpa"
        if self.model.config._attn_implementation != wanted:  # switching is not free
            self.model.set_attn_implementation(wanted)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Top down, for gradual unfreezing: the head (classifier, pooler), each encoder
        layer from the last, the embeddings."""
        n = self.model.config.num_hidden_layers
        layers = self.model.get_submodule(encoder_layer_list(self.model, n))
        inside = {id(p) for p in layers.parameters()}
        rest = [(name, p) for name, p in self.model.named_parameters() if id(p) not in inside]
        head = [p for name, p in rest if "embeddings" not in name]
        embeddings = [p for name, p in rest if "embeddings" in name]
        return [head, *(list(layer.parameters()) for layer in reversed(layers)), embeddings]

    def forward(self, input_ids, attention_mask):
        returns = self.returns
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=HIDDEN_STATES in returns,
            output_attentions=ATTENTIONS in returns,
        )
        extra = {name: tuple(getattr(out, name)) for name in sorted(returns)}
        return {"logits": out.logits, **extra}


def bert_classifier(
    vocab_size,
    num_labels,
    layers,
    hidden_size,
    heads,
    intermediate_size,
    max_positions=512,
    dropout=0.1,
):
    """A randomly initialised BertForSequenceClassification of the given shape."""
    from transformers import AutoModelForSequenceClassification, BertConfig

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size or 4 * hidden_size,
        max_position_embeddings=max_positions,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        num_labels=num_labels,
        pad_token_id=0,
    )
    return AutoModelForSequenceClassification.from_config(config, attn_implementation="eager")
