//! A labelled data set made ready for classification: the documented
//! stratified split, and the checks that turn unusable data into a clear
//! error before any training starts (empty set, one class, a label the
//! training split never shows).

use hone_data::datasets::{Dataset, Example};
use hone_data::split::SPLIT_SEED;
use serde::{Deserialize, Serialize};

use crate::{Result, TaskError};

/// Train / validation / test examples of one data set.
#[derive(Debug, Clone)]
pub struct ClassifyData {
    pub name: String,
    pub labels: Vec<String>,
    pub train: Vec<Example>,
    pub validation: Vec<Example>,
    pub test: Vec<Example>,
}

impl ClassifyData {
    /// Splits `dataset` 70/10/20 (stratified, seed [`SPLIT_SEED`]).
    pub fn from_dataset(dataset: Dataset) -> Result<Self> {
        let bad = |detail: String| TaskError::BadDataset {
            name: dataset.name.clone(),
            detail,
        };
        if dataset.examples.is_empty() {
            return Err(bad("it has no examples".into()));
        }
        let counts = dataset.class_counts();
        let present = counts.iter().filter(|&&c| c > 0).count();
        if present < 2 {
            return Err(bad(format!(
                "classification needs at least two labels, found {present}"
            )));
        }
        let split = dataset.split(SPLIT_SEED);
        let pick = |idx: &[usize]| -> Vec<Example> {
            idx.iter().map(|&i| dataset.examples[i].clone()).collect()
        };
        let data = Self {
            name: dataset.name.clone(),
            labels: dataset.labels.clone(),
            train: pick(&split.train),
            validation: pick(&split.validation),
            test: pick(&split.test),
        };
        data.check_labels_are_trained()?;
        Ok(data)
    }

    /// Errors when a validation or test label never occurs in training (the
    /// model could not learn it). The stratified split puts a label's first
    /// example in training, so this guards splits made any other way.
    pub fn check_labels_are_trained(&self) -> Result<()> {
        let train_counts = self.train_counts();
        for (split_name, examples) in [("validation", &self.validation), ("test", &self.test)] {
            if let Some(e) = examples.iter().find(|e| train_counts[e.label] == 0) {
                return Err(TaskError::BadDataset {
                    name: self.name.clone(),
                    detail: format!(
                        "label {:?} occurs in the {split_name} split but never in the \
                         training split; add examples of it or remove it",
                        self.labels[e.label]
                    ),
                });
            }
        }
        Ok(())
    }

    /// Training examples per label.
    pub fn train_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for e in &self.train {
            counts[e.label] += 1;
        }
        counts
    }
}

/// Per-class weights of the loss.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeights {
    #[default]
    None,
    /// `n / (k · n_c)` over the training split (scikit-learn's "balanced").
    Balanced,
    /// One weight per label, in label order.
    Given(Vec<f64>),
}

impl std::str::FromStr for ClassWeights {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "balanced" | "inverse" => Ok(Self::Balanced),
            list => list
                .split(',')
                .map(|w| {
                    w.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite() && *v > 0.0)
                        .ok_or_else(|| {
                            format!(
                                "class weights: {w:?} is not a positive number \
                                 (expected none, balanced or w1,w2,…)"
                            )
                        })
                })
                .collect::<Result<_, _>>()
                .map(Self::Given),
        }
    }
}

impl ClassWeights {
    /// The weight vector for `train_counts`, or `None` for an unweighted loss.
    pub fn resolve(&self, train_counts: &[usize]) -> Result<Option<Vec<f32>>> {
        match self {
            Self::None => Ok(None),
            Self::Balanced => {
                let n: usize = train_counts.iter().sum();
                let k = train_counts.iter().filter(|&&c| c > 0).count();
                Ok(Some(
                    train_counts
                        .iter()
                        .map(|&c| {
                            if c == 0 {
                                1.0
                            } else {
                                (n as f64 / (k as f64 * c as f64)) as f32
                            }
                        })
                        .collect(),
                ))
            }
            Self::Given(w) if w.len() == train_counts.len() => {
                Ok(Some(w.iter().map(|&v| v as f32).collect()))
            }
            Self::Given(w) => Err(TaskError::Config(format!(
                "{} class weights given for {} labels",
                w.len(),
                train_counts.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(labels: &[usize], names: &[&str]) -> Dataset {
        Dataset {
            name: "toy".into(),
            labels: names.iter().map(|s| s.to_string()).collect(),
            examples: labels
                .iter()
                .enumerate()
                .map(|(i, &l)| Example {
                    text: format!("text {i}"),
                    label: l,
                })
                .collect(),
        }
    }

    #[test]
    fn empty_and_single_class_sets_are_refused() {
        let e = ClassifyData::from_dataset(ds(&[], &["a", "b"])).unwrap_err();
        assert!(e.to_string().contains("no examples"), "{e}");
        let e = ClassifyData::from_dataset(ds(&[0; 20], &["a", "b"])).unwrap_err();
        assert!(e.to_string().contains("at least two labels"), "{e}");
    }

    #[test]
    fn a_label_seen_only_outside_training_is_named() {
        let mut labels = vec![0usize; 30];
        labels.extend([1; 30]);
        labels.push(2); // a single example goes to the training split
        let mut data = ClassifyData::from_dataset(ds(&labels, &["a", "b", "rare"])).unwrap();
        let rare = data.train.iter().position(|e| e.label == 2).unwrap();
        let moved = data.train.remove(rare);
        data.test.push(moved);
        let e = data.check_labels_are_trained().unwrap_err();
        assert!(
            e.to_string().contains("\"rare\"") && e.to_string().contains("test"),
            "{e}"
        );
    }

    #[test]
    fn balanced_weights_are_inverse_frequency() {
        let w = ClassWeights::Balanced.resolve(&[30, 10]).unwrap().unwrap();
        assert_eq!(w, vec![40.0 / 60.0, 40.0 / 20.0]);
        assert!(ClassWeights::Given(vec![1.0]).resolve(&[3, 4]).is_err());
        assert_eq!(
            "2,0.5".parse::<ClassWeights>().unwrap(),
            ClassWeights::Given(vec![2.0, 0.5])
        );
        assert!("1,-2".parse::<ClassWeights>().is_err());
    }
}
