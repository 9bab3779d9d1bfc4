//! sacrebleu-style reproducibility signatures (`nrefs:1|case:mixed|...|version:2.6.0`)
//! shared by BLEU and chrF, in sacrebleu's key order.

/// The sacrebleu release whose behaviour and signature this crate reproduces.
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// How many references each segment had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NRefs {
    /// Every segment had this many references.
    Fixed(usize),
    /// Batches disagreed; sacrebleu prints `var`.
    Variable,
}

impl std::fmt::Display for NRefs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NRefs::Fixed(n) => write!(f, "{n}"),
            NRefs::Variable => f.write_str("var"),
        }
    }
}

/// Resampling details sacrebleu adds to a signature when a significance test
/// or bootstrap ran (`bs:1000|ar:10000|seed:12345`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResamplingInfo {
    pub bootstrap: Option<usize>,
    pub approximate_randomization: Option<usize>,
    pub seed: Option<u64>,
}

/// Joins the common head, metric-specific fields and the trailing version.
pub(crate) fn format_signature(
    nrefs: NRefs,
    resampling: ResamplingInfo,
    metric_fields: &[(&str, String)],
) -> String {
    // sacrebleu's order: nrefs, bs, ar, seed, (test-set fields), metric fields, version.
    let mut parts = vec![format!("nrefs:{nrefs}")];
    if let Some(bs) = resampling.bootstrap {
        parts.push(format!("bs:{bs}"));
    }
    if let Some(ar) = resampling.approximate_randomization {
        parts.push(format!("ar:{ar}"));
    }
    if let Some(seed) = resampling.seed {
        parts.push(format!("seed:{seed}"));
    }
    parts.extend(metric_fields.iter().map(|(k, v)| format!("{k}:{v}")));
    parts.push(format!("version:{SACREBLEU_VERSION}"));
    parts.join("|")
}

/// Tracks the reference count over a stream of batches.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NRefsTracker(Option<NRefs>);

impl NRefsTracker {
    pub(crate) fn observe(&mut self, n: usize) {
        self.0 = match self.0 {
            None => Some(NRefs::Fixed(n)),
            Some(NRefs::Fixed(m)) if m == n => Some(NRefs::Fixed(m)),
            _ => Some(NRefs::Variable),
        };
    }
    pub(crate) fn get(&self) -> NRefs {
        self.0.unwrap_or(NRefs::Fixed(0))
    }
}
