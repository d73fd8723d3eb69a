"""What probing computes and how it is keyed (torch-free: ``bench analyze --dry-run``
lists the probe stages without loading a model)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from distill_bench.matrix.keys import content_key
from distill_bench.stages.probe.parse import parser_version
from distill_bench.stages.probe.tasks import PROBES

CLASSIFIERS = ("logreg", "mlp")


@dataclass(frozen=True)
class ProbeConfig:
    per_probe: int = 10_000  # examples per probe, train + dev + test (80/10/10)
    pool: int = 30_000  # in-domain sentences parsed: about a minute on 2 cores
    seed: int = 0  # which sentences, which are modified, which split each lands in
    classifier: str = "logreg"  # or "mlp": one hidden layer, as the paper also reports
    # runs of each entry probed, spread over its teacher seeds first: an interval over
    # seeds needs at least 2; every run costs one pass of the model over the probe sets
    runs: int = 3
    batch_size: int = 128
    max_length: int = 64  # the budget's: what the models were trained to read


def sets_key(data_key: str, config: ProbeConfig) -> str:
    """The probe sets of one dataset: its data stage, the sizes, seed and parser."""
    conf = {
        "per_probe": config.per_probe,
        "pool": config.pool,
        "seed": config.seed,
        "probes": list(PROBES),
        "parser": parser_version(),
    }
    return content_key("probe_sets", conf, (data_key,))


def results_key(probe_sets_key: str, model_key: str, config: ProbeConfig) -> str:
    """One model's probe scores: the sets, the model's stage entry and the classifier."""
    conf = {"classifier": config.classifier, "max_length": config.max_length, "seed": config.seed}
    return content_key("probe", conf, (probe_sets_key, model_key))


def config_dict(config: ProbeConfig) -> dict:
    return asdict(config)
