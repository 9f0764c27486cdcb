"""Retrieval metrics and the evaluation runner.

Two kinds of evaluation set:
- the bank itself, with a JSONL query file where each line is
  ``{"query": "…", "relevant": {"slug": 2, "other-slug": 1}}`` (graded) or a list of slugs;
- a plain corpus in the format of ``shared/eval`` (``docs/<id>.txt`` and ``queries.jsonl``
  with ``relevant_doc_ids``): each document becomes an in-memory fiche with one untitled
  section, indexed into ``index/eval/<name>-<digest>`` through the same chunking, embedding
  and ranking code as the bank, and reused while the corpus and model are unchanged.

Gains are the graded relevance itself (linear gain), discounted by log2(rank + 1).
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from kb.catalog import Catalog, CatalogError
from kb.fiche import Fiche, Section
from kb.filters import Filters
from kb.fusion import agreeing_weight, rank_counted_first, weighted_rrf
from kb.query_places import understood
from kb.relevance import Cutoff
from kb.search import Engine
from kb.settings import Settings

K = 10
TUNE_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


class EvalError(Exception):
    pass


@dataclass
class Query:
    text: str
    relevant: dict[str, int]


@dataclass
class Metrics:
    ndcg: float = 0.0
    recall: float = 0.0
    mrr: float = 0.0
    # the counted set (fiches "qui répondent à votre besoin"), grade >= 1 being relevant
    set_precision: float = 0.0
    set_recall: float = 0.0
    set_f1: float = 0.0
    counted_median: float = 0.0
    offtopic_empty: float | None = None  # share of off-topic questions that count nothing

    def to_dict(self) -> dict:
        ranked = {f"{k}@{K}": round(getattr(self, k), 4) for k in ("ndcg", "recall", "mrr")}
        return {**ranked, "set_precision": round(self.set_precision, 4), "set_recall": round(self.set_recall, 4),
                "set_f1": round(self.set_f1, 4), "counted_median": self.counted_median,
                "offtopic_empty": None if self.offtopic_empty is None else round(self.offtopic_empty, 4)}


def set_scores(counted: set[str], relevant: dict[str, int]) -> tuple[float, float, float]:
    """(precision, recall, F1) of a counted set; an empty set scores 0."""
    wanted = {doc for doc, g in relevant.items() if g > 0}
    hits = len(counted & wanted)
    precision = hits / len(counted) if counted else 0.0
    recall = hits / len(wanted) if wanted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass
class RunResult:
    metrics: Metrics
    misses: list[dict] = field(default_factory=list)


def dcg(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    ideal = dcg(sorted((g for g in relevant.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([relevant.get(doc, 0) for doc in ranked[:k]]) / ideal


def recall_at_k(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    wanted = {doc for doc, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at_k(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    for rank, doc in enumerate(ranked[:k], 1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def score(rankings: list[list[str]], queries: list[Query], counted: list[set[str]] | None = None,
          offtopic_counts: list[int] | None = None) -> Metrics:
    n = len(queries) or 1
    metrics = Metrics(
        ndcg=sum(ndcg_at_k(r, q.relevant) for r, q in zip(rankings, queries)) / n,
        recall=sum(recall_at_k(r, q.relevant) for r, q in zip(rankings, queries)) / n,
        mrr=sum(mrr_at_k(r, q.relevant) for r, q in zip(rankings, queries)) / n,
    )
    if counted is not None:
        sets = [set_scores(c, q.relevant) for c, q in zip(counted, queries)]
        metrics.set_precision = sum(p for p, _, _ in sets) / n
        metrics.set_recall = sum(r for _, r, _ in sets) / n
        metrics.set_f1 = sum(f for _, _, f in sets) / n
        metrics.counted_median = float(statistics.median(len(c) for c in counted)) if counted else 0.0
    if offtopic_counts:
        metrics.offtopic_empty = sum(1 for c in offtopic_counts if c == 0) / len(offtopic_counts)
    return metrics


def load_offtopic(path: Path) -> list[str]:
    """Questions that no fiche answers, one per line (``#`` comments); [] when absent."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path}: lecture impossible ({exc}).") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def read_lines(path: Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path}: lecture impossible ({exc}).") from exc


def load_queries(path: Path) -> list[Query]:
    queries = []
    lines = read_lines(path)
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(line)
            relevant = item.get("relevant", item.get("relevant_doc_ids"))
            if isinstance(relevant, list):
                relevant = {str(doc): 1 for doc in relevant}
            if not isinstance(item["query"], str) or not isinstance(relevant, dict) or not relevant:
                raise ValueError("« query » (texte) et « relevant » (dictionnaire ou liste non vide) attendus")
            queries.append(Query(item["query"], {str(k): int(v) for k, v in relevant.items()}))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EvalError(f"{path}:{number}: requête invalide ({exc}).") from exc
    if not queries:
        raise EvalError(f"{path}: aucune requête.")
    return queries


# ----------------------------------------------------------------------------- corpora


def corpus_fiches(corpus: Path) -> tuple[list[Fiche], str]:
    docs = sorted((corpus / "docs").glob("*.txt"))
    if not docs:
        raise EvalError(f"{corpus}: aucun document docs/*.txt.")
    digest = hashlib.sha256()
    fiches = []
    for path in docs:
        text = path.read_text(encoding="utf-8")
        digest.update(path.name.encode() + b"\0" + text.encode())
        fiches.append(Fiche(slug=path.stem, path=str(path), titre="", resume="", thematiques=[], publics=[],
                            territoire={}, porteur="", debut="2000", statut="en-cours", mise_a_jour="2000-01-01",
                            body=text, sections=[Section("", text, 1)]))
    return fiches, digest.hexdigest()[:12]


def corpus_engine(settings: Settings, corpus: Path, log=None) -> Engine:
    from kb.build import build_documents
    from kb.embed import Embedder

    fiches, digest = corpus_fiches(corpus)
    eval_settings = settings.with_overrides(index_dir=settings.index_path / "eval" / f"{corpus.name}-{digest}")
    embedder = Embedder.from_settings(settings)
    try:
        catalog = Catalog(eval_settings.catalog_path)
        reusable = catalog.meta.get("model_key") == embedder.key
        catalog.close()
    except CatalogError:
        reusable = False
    if not reusable:
        if log:
            log(f"Indexation du corpus {corpus} ({len(fiches)} documents)…")
        build_documents(eval_settings, fiches, str(corpus), embedder, log=log, progress=True,
                        onnx_root=settings.onnx_path)
    return Engine.open(eval_settings, embedder)


def prepare(settings: Settings, corpus: Path | None, queries_path: Path | None, log=None):
    """(engine, queries, label, off-topic questions) for a corpus or for the bank (built first
    if needed). Off-topic questions (``eval/offtopic.txt``) are the bank's only."""
    if corpus is not None:
        queries = load_queries(queries_path or corpus / "queries.jsonl")
        return corpus_engine(settings, corpus, log), queries, f"corpus {corpus.name}", []
    from kb.build import build

    queries = load_queries(queries_path or settings.root / "eval" / "queries.jsonl")
    offtopic = load_offtopic(settings.root / "eval" / "offtopic.txt")
    build(settings, log=log)
    return Engine.open(settings), queries, "banque", offtopic


# ----------------------------------------------------------------------------- runs


def run(engine: Engine, queries: list[Query], mode: str, dense_weight: float | None = None,
        offtopic: list[str] = ()) -> RunResult:
    """Ranking metrics over the page a reader sees (counted fiches first, then the weaker
    ones) and set metrics over the counted fiches."""
    rankings, counted, misses = [], [], []
    for q in queries:
        ranked, chosen = _ranked_and_counted(engine, q.text, mode, dense_weight)
        rankings.append(ranked)
        counted.append(chosen)
        if mrr_at_k(ranked, q.relevant) == 0:
            misses.append({"query": q.text, "expected": sorted(q.relevant, key=lambda d: -q.relevant[d]),
                           "got": ranked})
    off_counts = [len(_ranked_and_counted(engine, text, mode, dense_weight)[1]) for text in offtopic]
    return RunResult(score(rankings, queries, counted, off_counts), misses)


def _ranked_and_counted(engine: Engine, text: str, mode: str, dense_weight: float | None):
    """The first K slugs as the reader's page lists them (counted fiches first) and the counted
    slugs, after what the search does to the query typed: a population range becomes a filter
    (kb.query_ranges), a place named is taken out (kb.query_places), a correction replaces a
    query that counts nothing (kb.spelling)."""
    rest, filters, _, _ = understood(text, Filters())
    shown = engine.search(rest, filters, limit=0, mode=mode, dense_weight=dense_weight, recognise=False)
    ranking = engine.ranking(engine.parse_query(shown.query), mode, engine.fusion_weight(mode, dense_weight))
    allowed = None if filters.is_empty() else set(engine.catalog.ids(filters))
    order = [d for d in ranking.order if allowed is None or d in allowed]
    counted = [d for d in order if d in ranking.counted]
    fiches = engine.catalog.fiches(list(dict.fromkeys(order[:K] + counted)))
    slug = {d: f["slug"] for d, f in fiches.items()}
    return [slug[d] for d in order[:K]], {slug[d] for d in counted}


def tune(engine: Engine, queries: list[Query], grid=TUNE_GRID) -> list[tuple[float, Metrics]]:
    """nDCG/Recall/MRR for each dense weight, from each query's one ranking (its lexical and
    dense lists fused again per weight). The counted set does not depend on the weight (see
    :func:`tune_cutoff`)."""
    rankings = [engine.ranking(engine.parse_query(q.text)) for q in queries]
    ids = {d for r in rankings for d in r.order}
    slug_of = {fiche_id: fiche["slug"] for fiche_id, fiche in engine.catalog.fiches(sorted(ids)).items()}
    counted = [{slug_of[d] for d in r.counted} for r in rankings]
    rows = []
    for weight in grid:
        ranked = []
        for r in rankings:
            lexical = sorted(r.lexical_rank, key=r.lexical_rank.get)
            dense = sorted(r.dense_rank, key=r.dense_rank.get)
            agreed = agreeing_weight(lexical, dense, weight, engine.settings.agreement_depth)
            fused = weighted_rrf(lexical, dense, agreed, engine.settings.rrf_k)
            order = rank_counted_first(fused, r.counted, after=dense if agreed != weight else ())
            ranked.append([slug_of[d] for d in list(order)[:K]])
        rows.append((weight, score(ranked, queries, counted)))
    return rows


# ----------------------------------------------------------------------------- cut-off

CUTOFF_GRID = {
    "cover_min": (0.3, 0.4, 0.5, 0.6, 0.7),
    "lexical_min": (0.2, 0.3, 0.4, 0.5, 0.6),
    "dense_min": (0.0, 0.2, 0.3, 0.4),
    "dense_floor": (0.55, 0.6, 0.65, 0.7, 1.01),
}
FOLDS = 5


@dataclass
class CutoffTuning:
    best: Cutoff  # chosen on every query
    held_out: Metrics  # each fold's queries decided with the cut-off chosen on the other folds
    fold_choices: list[Cutoff]


def _objective(decided: list[tuple[set[str], dict[str, int] | None]]) -> float:
    """Mean set F1, an off-topic question scoring 1 when it counts nothing, else 0."""
    total = 0.0
    for counted, relevant in decided:
        total += set_scores(counted, relevant)[2] if relevant is not None else float(not counted)
    return total / max(len(decided), 1)


def tune_cutoff(engine: Engine, queries: list[Query], offtopic: list[str] = (), grid=CUTOFF_GRID,
                folds: int = FOLDS) -> CutoffTuning:
    """Fit the relevance cut-off (kb.relevance) by grid search, with held-out folds.

    The evidence of every candidate is computed once per query, with a permissive cut-off so
    that no candidate the grid could count is left out; each grid point then only re-decides."""
    import dataclasses
    import itertools

    shipped = engine.cutoff
    permissive = Engine(engine.settings.with_overrides(lexical_min=0.0, dense_floor=min(grid["dense_floor"])),
                        engine.catalog, engine.embedder)
    cases = []  # (evidence by slug, relevance or None for off-topic)
    for text, relevant in [(q.text, q.relevant) for q in queries] + [(t, None) for t in offtopic]:
        ranking = permissive.ranking(permissive.parse_query(text))
        fiches = permissive.catalog.fiches(sorted(ranking.evidence))
        cases.append(({fiches[d]["slug"]: e for d, e in ranking.evidence.items()}, relevant))
    names = list(grid)
    points = [dataclasses.replace(shipped, **dict(zip(names, values)))
              for values in itertools.product(*(grid[n] for n in names))]

    def decide(cutoff: Cutoff, subset) -> list[tuple[set[str], dict | None]]:
        return [({slug for slug, e in cases[i][0].items() if e.counted(cutoff)}, cases[i][1]) for i in subset]

    def closeness(cutoff: Cutoff) -> float:  # ties go to the cut-off closest to the shipped one
        return -sum(abs(getattr(cutoff, n) - getattr(shipped, n)) for n in names)

    def choose(subset) -> Cutoff:
        return max(points, key=lambda c: (round(_objective(decide(c, subset)), 6), closeness(c)))

    everyone = list(range(len(cases)))
    held_out: dict[int, set[str]] = {}
    choices = []
    for fold in range(folds):
        test = everyone[fold::folds]
        train = [i for i in everyone if i % folds != fold]
        chosen = choose(train)
        choices.append(chosen)
        for i, (counted, _) in zip(test, decide(chosen, test)):
            held_out[i] = counted
    judged = [i for i in everyone if cases[i][1] is not None]
    off = [len(held_out[i]) for i in everyone if cases[i][1] is None]
    metrics = score([[] for _ in judged], [Query("", cases[i][1]) for i in judged],
                    [held_out[i] for i in judged], off)
    return CutoffTuning(choose(everyone), metrics, choices)


# ----------------------------------------------------------------------------- similar fiches

SIMILAR_K = 5


def load_similar(path: Path) -> list[Query]:
    """``eval/similar.jsonl``: ``{"slug": …, "similar": {slug: grade}}`` per line, as queries
    whose text is the source fiche's slug."""
    queries = []
    lines = read_lines(path)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            queries.append(Query(str(item["slug"]), {str(k): int(v) for k, v in item["similar"].items()}))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EvalError(f"{path}:{number}: ligne invalide ({exc}): « slug » et « similar » attendus.") from exc
    return queries


def precision_at_k(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    return sum(1 for doc in ranked[:k] if relevant.get(doc, 0) > 0) / k


def similar_grid(engine: Engine, items: list[Query], grid=TUNE_GRID) -> list[tuple[float, float, float]]:
    """(dense weight, P@5, nDCG@5) of ``similar`` for each fusion weight."""
    rows = []
    for weight in grid:
        ranked = [[h.slug for h in engine.similar(q.text, limit=SIMILAR_K, dense_weight=weight)] for q in items]
        n = len(items) or 1
        rows.append((weight, sum(precision_at_k(r, q.relevant, SIMILAR_K) for r, q in zip(ranked, items)) / n,
                     sum(ndcg_at_k(r, q.relevant, SIMILAR_K) for r, q in zip(ranked, items)) / n))
    return rows
