//! The optimize report: `report.md` (the table, with how it was made),
//! `report.json` (the same numbers) and `tradeoff.svg` (accuracy against
//! batch-32 latency, one labelled point per stage), written atomically.

use std::path::Path;

use plotters::prelude::*;
use serde::Serialize;

use super::measure::{LatencySetup, StageMeasure};
use crate::{Error, Result};

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub data: String,
    pub base_model: String,
    pub quick: bool,
    pub train_examples: usize,
    pub test_examples: usize,
    pub latency: LatencySetup,
    pub threads: usize,
    pub stages: Vec<StageMeasure>,
    /// Seconds each stage took to produce (training, pruning, quantizing).
    pub stage_seconds: Vec<(String, f64)>,
}

impl Report {
    /// Fills in each stage's speedup over the first (the teacher).
    pub fn with_speedups(mut self) -> Self {
        if let Some(first) = self.stages.first().cloned() {
            for s in &mut self.stages {
                s.speedup_b1 = first.latency_b1_ms / s.latency_b1_ms;
                s.speedup_b32 = first.latency_b32_ms / s.latency_b32_ms;
            }
        }
        self
    }

    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# hone optimize: {} on {}\n\n\
             {} training / {} test examples{}; accuracy and macro-F1 on the test split; \
             latency: median of hone's CPU engine forward at batch 1 and 32 × {} tokens, \
             {} threads, all measured in this run.\n\n\
             | stage | accuracy | macro-F1 | parameters | MB on disk | b1 ms | b32 ms | speedup b1 | speedup b32 |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            self.base_model,
            self.data,
            self.train_examples,
            self.test_examples,
            if self.quick {
                " (--quick: a subset, 1 epoch per stage)"
            } else {
                ""
            },
            self.latency.seq,
            self.threads,
        );
        for s in &self.stages {
            md += &format!(
                "| {} | {:.4} | {:.4} | {:.1} M | {:.1} | {:.1} | {:.0} | {:.2}× | {:.2}× |\n",
                s.stage,
                s.accuracy,
                s.macro_f1,
                s.parameters as f64 / 1e6,
                s.bytes_on_disk as f64 / 1e6,
                s.latency_b1_ms,
                s.latency_b32_ms,
                s.speedup_b1,
                s.speedup_b32
            );
        }
        md += "\n| stage | seconds to produce |\n|---|---:|\n";
        for (stage, secs) in &self.stage_seconds {
            md += &format!("| {stage} | {secs:.0} |\n");
        }
        md
    }

    /// Writes `report.md`, `report.json` and `tradeoff.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            hone_train::log::write_atomically(&path, bytes)
                .map_err(|source| Error::Io { path, source })
        };
        write("report.md", self.markdown().as_bytes())?;
        let json = serde_json::to_string_pretty(self).expect("report serializes");
        write("report.json", json.as_bytes())?;
        write("tradeoff.svg", self.svg()?.as_bytes())
    }

    /// Accuracy against batch-32 latency.
    fn svg(&self) -> Result<String> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (720, 480)).into_drawing_area();
            let plot = |e: &dyn std::fmt::Display| Error::Invalid(format!("plot: {e}"));
            root.fill(&WHITE).map_err(|e| plot(&e))?;
            let xs = self.stages.iter().map(|s| s.latency_b32_ms);
            let ys = self.stages.iter().map(|s| s.accuracy);
            let x_max = xs.fold(1.0f64, f64::max) * 1.15;
            let (y_min, y_max) = ys.fold((1.0f64, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
            let pad = ((y_max - y_min) * 0.2).max(0.01);
            let mut chart = ChartBuilder::on(&root)
                .caption("accuracy vs latency (batch 32)", ("sans-serif", 20))
                .margin(20)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..x_max, (y_min - pad)..(y_max + pad).min(1.0 + pad))
                .map_err(|e| plot(&e))?;
            chart
                .configure_mesh()
                .x_desc("latency at batch 32 (ms)")
                .y_desc("test accuracy")
                .draw()
                .map_err(|e| plot(&e))?;
            for s in &self.stages {
                let p = (s.latency_b32_ms, s.accuracy);
                chart
                    .draw_series(std::iter::once(Circle::new(p, 5, BLUE.filled())))
                    .map_err(|e| plot(&e))?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        s.stage.clone(),
                        p,
                        ("sans-serif", 14),
                    )))
                    .map_err(|e| plot(&e))?;
            }
            root.present().map_err(|e| plot(&e))?;
        }
        Ok(svg)
    }
}
