"""The built-in students' torch modules. Imported only by the students' factories."""

from __future__ import annotations

import torch
from torch import nn


class MLPStudent(nn.Module):
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
    def __init__(self, vocab_size, num_labels, embedding_dim, hidden_size, fc_size, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0, sparse=True)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden_size, fc_size), nn.ReLU())
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(fc_size, num_labels))

    def forward(self, input_ids, attention_mask):
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
        hidden = self.fc(out.max(dim=1).values)
        return {"logits": self.classifier(hidden), "hidden_states": (hidden,)}
