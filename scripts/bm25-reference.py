#!/usr/bin/env python3
"""BM25 on the BEIR copies, per half: the reference the relevance targets are set from.

Plain BM25 as the BEIR paper ran it (Elasticsearch's defaults, k1 1.2 and b 0.75), by
bm25s (Lucene's BM25 variant, English Snowball stemmer, English stop words) over title
and text, on every judged query of qrels/test.tsv and on each half of them, split by the
rule of `Half::of` in src/eval/beir.rs (the lowest bit of the first byte of the BLAKE3
hash of the query id: 0 development, 1 held-out). nDCG@10 as src/eval/metrics.rs
computes it (linear gains; a query that finds nothing scores 0).

Not part of the test command (it needs three PyPI packages); README's relevance
section and tests/eval_beir.rs quote its figures. Usage:

    venv="$HOME/.cache/helpcenter/bm25"
    python3 -m venv "$venv" && "$venv/bin/pip" install bm25s==0.3.16 PyStemmer==3.1.0 blake3==1.0.11
    "$venv/bin/python" scripts/bm25-reference.py ../shared/corpora/beir-scifact ../shared/corpora/beir-nfcorpus
    K1=1.5 "$venv/bin/python" scripts/bm25-reference.py ...   # bm25s's own default k1
"""

import json
import math
import os
import sys

import blake3
import bm25s
import Stemmer


def half(query_id):
    """The half of a query, as `Half::of` decides it."""
    return "dev" if blake3.blake3(query_id.encode()).digest()[0] & 1 == 0 else "held-out"


def load(folder):
    with open(os.path.join(folder, "corpus.jsonl"), encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(folder, "queries.jsonl"), encoding="utf-8") as f:
        queries = {q["_id"]: q["text"] for q in (json.loads(line) for line in f if line.strip())}
    qrels = {}
    with open(os.path.join(folder, "qrels", "test.tsv"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            line = line.rstrip("\r\n")
            if not line.strip() or (i == 0 and line.startswith("query-id")):
                continue
            query, doc, score = line.split("\t")
            qrels.setdefault(query, {})[doc] = max(0, int(score))
    return docs, queries, qrels


def ndcg_at_10(ranked, judged):
    discount = lambda i: 1 / math.log2(i + 2)  # noqa: E731
    dcg = sum(judged.get(d, 0) * discount(i) for i, d in enumerate(ranked[:10]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
    idcg = sum(g * discount(i) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def main():
    k1 = float(os.environ.get("K1", "1.2"))
    b = float(os.environ.get("B", "0.75"))
    stemmer = Stemmer.Stemmer("english")
    for folder in sys.argv[1:]:
        docs, queries, qrels = load(folder)
        ids = [d["_id"] for d in docs]
        texts = [(d.get("title") or "") + " " + (d.get("text") or "") for d in docs]
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(
            bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
            show_progress=False,
        )
        judged = sorted(qrels)
        tokens = bm25s.tokenize(
            [queries[q] for q in judged], stopwords="en", stemmer=stemmer, show_progress=False
        )
        results, scores = retriever.retrieve(tokens, k=100, show_progress=False)
        ndcg = {}
        for i, query in enumerate(judged):
            ranked = [ids[j] for j, s in zip(results[i], scores[i]) if s > 0]
            ndcg[query] = ndcg_at_10(ranked, qrels[query])
        name = os.path.basename(os.path.normpath(folder))
        for part in ("all", "dev", "held-out"):
            chosen = [q for q in judged if part == "all" or half(q) == part]
            mean = sum(ndcg[q] for q in chosen) / len(chosen)
            print(f"{name:14} {part:9} {len(chosen):4} queries  BM25 k1 {k1} b {b}  nDCG@10 {mean:.4f}")


if __name__ == "__main__":
    main()
