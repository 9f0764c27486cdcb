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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb.catalog import Catalog, CatalogError
from kb.fiche import Fiche, Section
from kb.search import Engine, weighted_rrf
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

    def to_dict(self) -> dict:
        return {f"{k}@{K}": round(v, 4) for k, v in asdict(self).items()}


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


def score(rankings: list[list[str]], queries: list[Query]) -> Metrics:
    n = len(queries) or 1
    return Metrics(
        ndcg=sum(ndcg_at_k(r, q.relevant) for r, q in zip(rankings, queries)) / n,
        recall=sum(recall_at_k(r, q.relevant) for r, q in zip(rankings, queries)) / n,
        mrr=sum(mrr_at_k(r, q.relevant) for r, q in zip(rankings, queries)) / n,
    )


def load_queries(path: Path) -> list[Query]:
    queries = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path}: lecture impossible ({exc}).") from exc
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
        build_documents(eval_settings, fiches, str(corpus), embedder, log=log, progress=True)
    return Engine.open(eval_settings, embedder)


def prepare(settings: Settings, corpus: Path | None, queries_path: Path | None, log=None):
    """(engine, queries, label) for a corpus or for the bank (built first if needed)."""
    if corpus is not None:
        queries = load_queries(queries_path or corpus / "queries.jsonl")
        return corpus_engine(settings, corpus, log), queries, f"corpus {corpus.name}"
    from kb.build import build

    queries = load_queries(queries_path or settings.root / "eval" / "queries.jsonl")
    build(settings, log=log)
    return Engine.open(settings), queries, "banque"


# ----------------------------------------------------------------------------- runs


def run(engine: Engine, queries: list[Query], mode: str, dense_weight: float | None = None) -> RunResult:
    rankings = []
    misses = []
    for q in queries:
        hits = engine.search(q.text, limit=K, mode=mode, dense_weight=dense_weight).hits
        ranked = [h.slug for h in hits]
        rankings.append(ranked)
        if mrr_at_k(ranked, q.relevant) == 0:
            misses.append({"query": q.text, "expected": sorted(q.relevant, key=lambda d: -q.relevant[d]),
                           "got": ranked})
    return RunResult(score(rankings, queries), misses)


def tune(engine: Engine, queries: list[Query], grid=TUNE_GRID) -> list[tuple[float, Metrics]]:
    """nDCG/Recall/MRR for each dense weight; both rankings computed once per query."""
    pairs = []
    for q in queries:
        parsed = engine.parse_query(q.text)
        lexical, dense = engine.rankings(parsed, None, K, 0.5)
        pairs.append(([d for d, _ in lexical], [d for d, _, _ in dense]))
    slug_of = {}
    ids = {d for lex, den in pairs for d in lex + den}
    for fiche_id, fiche in engine.catalog.fiches(sorted(ids)).items():
        slug_of[fiche_id] = fiche["slug"]
    rows = []
    for weight in grid:
        rankings = []
        for lex, den in pairs:
            fused = weighted_rrf(lex, den, weight, engine.settings.rrf_k)
            rankings.append([slug_of[d] for d in sorted(fused, key=lambda d: -fused[d])[:K]])
        rows.append((weight, score(rankings, queries)))
    return rows
