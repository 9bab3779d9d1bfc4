//! hone-metrics — layer 1 of hone, plain Rust with no burn dependency:
//! classification metrics, BLEU/chrF and ROUGE with exact parity to the
//! reference tools, and uncertainty/significance for A/B comparisons.
