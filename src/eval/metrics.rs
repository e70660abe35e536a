//! Ranking metrics, as BEIR computes them (pytrec_eval / trec_eval conventions):
//! linear gains in nDCG, a document is relevant when its grade is at least 1, and a
//! query without any relevant document retrieved scores 0 (it still counts).

use std::collections::HashMap;

use serde::Serialize;

/// Relevance grades of one query's judged documents (document id → grade).
pub type Judgments = HashMap<String, u32>;

/// nDCG@k: discounted cumulative gain of the top `k` of `ranked`, divided by that of the
/// ideal ranking of `judged`. Gains are the grades themselves (trec_eval's `ndcg_cut`).
pub fn ndcg_at(k: usize, ranked: &[String], judged: &Judgments) -> f64 {
    let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| f64::from(judged.get(id).copied().unwrap_or(0)) * discount(i))
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| f64::from(g) * discount(i))
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// The 1-based rank of the first relevant document within the top `k`, if any.
pub fn first_relevant_rank(k: usize, ranked: &[String], judged: &Judgments) -> Option<usize> {
    ranked
        .iter()
        .take(k)
        .position(|id| judged.get(id).is_some_and(|&g| g > 0))
        .map(|i| i + 1)
}

/// Reciprocal rank of the first relevant document within the top `k` (0 when none).
pub fn reciprocal_rank_at(k: usize, ranked: &[String], judged: &Judgments) -> f64 {
    first_relevant_rank(k, ranked, judged).map_or(0.0, |r| 1.0 / r as f64)
}

/// Share of the relevant documents found in the top `k`.
pub fn recall_at(k: usize, ranked: &[String], judged: &Judgments) -> f64 {
    let relevant = judged.values().filter(|&&g| g > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|id| judged.get(*id).is_some_and(|&g| g > 0))
        .count();
    found as f64 / relevant as f64
}

/// 1 when a relevant document is in the top `k`, else 0.
pub fn hit_at(k: usize, ranked: &[String], judged: &Judgments) -> f64 {
    if first_relevant_rank(k, ranked, judged).is_some() {
        1.0
    } else {
        0.0
    }
}

/// The BEIR figures of one run, averaged over its queries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BeirScores {
    /// Mean nDCG@10.
    pub ndcg_at_10: f64,
    /// Mean reciprocal rank of the first relevant document in the top 10.
    pub mrr_at_10: f64,
    /// Mean share of the relevant documents in the top 100.
    pub recall_at_100: f64,
    /// Queries averaged over.
    pub queries: usize,
    /// Queries that found nothing at all.
    pub empty: usize,
}

/// Averages the BEIR figures over every judged query; a query missing from `runs`
/// (nothing retrieved) scores 0.
pub fn beir_scores(
    qrels: &HashMap<String, Judgments>,
    runs: &HashMap<String, Vec<String>>,
) -> BeirScores {
    let empty = Vec::new();
    let (mut ndcg, mut mrr, mut recall) = (0.0, 0.0, 0.0);
    let mut found_nothing = 0;
    for (query, judged) in qrels {
        let ranked = runs.get(query).unwrap_or(&empty);
        found_nothing += usize::from(ranked.is_empty());
        ndcg += ndcg_at(10, ranked, judged);
        mrr += reciprocal_rank_at(10, ranked, judged);
        recall += recall_at(100, ranked, judged);
    }
    let n = qrels.len().max(1) as f64;
    BeirScores {
        ndcg_at_10: ndcg / n,
        mrr_at_10: mrr / n,
        recall_at_100: recall / n,
        queries: qrels.len(),
        empty: found_nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn judged(list: &[(&str, u32)]) -> Judgments {
        list.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn ndcg_of_a_perfect_ranking_is_one() {
        let j = judged(&[("a", 2), ("b", 1)]);
        assert!(close(ndcg_at(10, &ids(&["a", "b", "x"]), &j), 1.0));
    }

    #[test]
    fn ndcg_by_hand_with_graded_judgments() {
        // Ranked x, b, a: DCG = 0/log2(2) + 1/log2(3) + 2/log2(4) = 0.630930 + 1.0
        // Ideal a, b:     IDCG = 2/log2(2) + 1/log2(3) = 2.0 + 0.630930
        let j = judged(&[("a", 2), ("b", 1)]);
        let expected = (1.0 / 3f64.log2() + 1.0) / (2.0 + 1.0 / 3f64.log2());
        assert!(close(ndcg_at(10, &ids(&["x", "b", "a"]), &j), expected));
        assert!((expected - 0.6199).abs() < 1e-4, "{expected}");
    }

    #[test]
    fn ndcg_cuts_at_k_and_ignores_zero_grades() {
        // The only relevant document is 11th: outside the cut.
        let mut ranked: Vec<String> = (0..10).map(|i| format!("x{i}")).collect();
        ranked.push("a".into());
        let j = judged(&[("a", 1), ("z", 0)]);
        assert_eq!(ndcg_at(10, &ranked, &j), 0.0);
        // Second of two relevant found at rank 2: DCG = 1/log2(3), IDCG = 1 + 1/log2(3).
        let j = judged(&[("a", 1), ("b", 1)]);
        let expected = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!(close(ndcg_at(10, &ids(&["x", "b"]), &j), expected));
        assert!((expected - 0.3869).abs() < 1e-4, "{expected}");
    }

    #[test]
    fn reciprocal_rank_recall_and_hits_by_hand() {
        let j = judged(&[("a", 1), ("b", 1), ("c", 1), ("d", 0)]);
        let ranked = ids(&["d", "x", "b", "a"]);
        assert_eq!(first_relevant_rank(10, &ranked, &j), Some(3));
        assert!(close(reciprocal_rank_at(10, &ranked, &j), 1.0 / 3.0));
        assert_eq!(reciprocal_rank_at(2, &ranked, &j), 0.0);
        assert!(close(recall_at(100, &ranked, &j), 2.0 / 3.0));
        assert!(close(recall_at(3, &ranked, &j), 1.0 / 3.0));
        assert_eq!(hit_at(1, &ranked, &j), 0.0);
        assert_eq!(hit_at(3, &ranked, &j), 1.0);
    }

    #[test]
    fn averages_count_queries_that_retrieved_nothing() {
        let qrels: HashMap<String, Judgments> = [
            ("q1".to_string(), judged(&[("a", 1)])),
            ("q2".to_string(), judged(&[("b", 1)])),
        ]
        .into();
        let runs: HashMap<String, Vec<String>> = [("q1".to_string(), ids(&["a"]))].into();
        let s = beir_scores(&qrels, &runs);
        assert_eq!(s.queries, 2);
        assert_eq!(s.empty, 1);
        assert!(close(s.ndcg_at_10, 0.5));
        assert!(close(s.mrr_at_10, 0.5));
        assert!(close(s.recall_at_100, 0.5));
    }
}
