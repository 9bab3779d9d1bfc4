//! Training curves as an SVG: the training loss against the step (raw values
//! faint, an exponential moving average on top) above the validation metric
//! against the step, on a shared step axis.
//!
//! Drawn with `plotters`' SVG backend and no font feature: plotters then
//! sizes text with a built-in estimate and writes `<text>` elements that the
//! SVG viewer renders with its own fonts, so neither the build nor the run
//! needs fontconfig, system fonts or a bundled font file (the CI machine has
//! none). Non-finite values (a diverged loss) are left out rather than
//! breaking the axes. The file is written atomically.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor;

use crate::log::{LogEntry, write_atomically};

/// Width and height of the whole figure in pixels.
const SIZE: (u32, u32) = (960, 800);
const LOSS_COLOR: RGBColor = RGBColor(31, 119, 180);
const METRIC_COLOR: RGBColor = RGBColor(214, 39, 40);

/// The validation split whose metric is plotted.
pub const VALIDATION_SPLIT: &str = "validation";

/// Writes `path` (an SVG) with two panels: "Training loss" from the `Train`
/// entries and "Validation `metric`" from the `Eval` entries of the
/// `"validation"` split that carry `metric`. A panel with no data says so;
/// a log with no finite training loss and no validation point is an error.
pub fn plot_curves(entries: &[LogEntry], metric: &str, path: &Path) -> Result<(), String> {
    let svg = render_curves(entries, metric)?;
    write_atomically(path, svg.as_bytes())
        .map_err(|e| format!("writing plot {}: {e}", path.display()))
}

/// The SVG text that [`plot_curves`] writes.
pub fn render_curves(entries: &[LogEntry], metric: &str) -> Result<String, String> {
    let mut loss: Vec<(f64, f64)> = Vec::new();
    let mut val: Vec<(f64, f64)> = Vec::new();
    for entry in entries {
        match entry {
            LogEntry::Train { step, loss: l, .. } if l.is_finite() => {
                loss.push((*step as f64, *l));
            }
            LogEntry::Eval {
                step,
                split,
                metrics,
                ..
            } if split == VALIDATION_SPLIT => {
                if let Some(v) = metrics.get(metric).filter(|v| v.is_finite()) {
                    val.push((*step as f64, *v));
                }
            }
            _ => {}
        }
    }
    if loss.is_empty() && val.is_empty() {
        return Err(format!(
            "nothing to plot: the log has no finite training loss and no \
             {VALIDATION_SPLIT} `{metric}` ({} entries)",
            entries.len()
        ));
    }
    loss.sort_by(|a, b| a.0.total_cmp(&b.0));
    val.sort_by(|a, b| a.0.total_cmp(&b.0));
    let smooth = ema(&loss.iter().map(|p| p.1).collect::<Vec<_>>());
    let smooth: Vec<(f64, f64)> = loss.iter().map(|p| p.0).zip(smooth).collect();

    let steps = loss.iter().chain(&val).map(|p| p.0);
    let x_range = padded_range(steps, 0.02);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (top, bottom) = root.split_vertically(SIZE.1 / 2);
        let raw_style = LOSS_COLOR.mix(0.25).stroke_width(1);
        let ema_style = LOSS_COLOR.stroke_width(2);
        panel(
            &top,
            "Training loss",
            "loss",
            x_range,
            &[
                Series {
                    label: "loss",
                    points: &loss,
                    style: raw_style,
                    marks: false,
                },
                Series {
                    label: "moving average",
                    points: &smooth,
                    style: ema_style,
                    marks: false,
                },
            ],
            "no finite training loss in the log",
        )?;
        panel(
            &bottom,
            &format!("Validation {metric}"),
            metric,
            x_range,
            &[Series {
                label: metric,
                points: &val,
                style: METRIC_COLOR.stroke_width(2),
                marks: true,
            }],
            &format!("no {VALIDATION_SPLIT} evaluation with `{metric}` in the log"),
        )?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

struct Series<'a> {
    label: &'a str,
    points: &'a [(f64, f64)],
    style: ShapeStyle,
    /// Draw a dot at every point (sparse series such as evaluations).
    marks: bool,
}

/// One titled chart; the first series sets whether there is data at all.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    y_desc: &str,
    x_range: (f64, f64),
    series: &[Series<'_>],
    empty_note: &str,
) -> Result<(), String> {
    let y_range = padded_range(
        series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
        0.05,
    );
    let mut chart = ChartBuilder::on(area)
        // plotters' SVG backend writes font-size = size / 1.24.
        .caption(title, ("sans-serif", 26))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(y_desc)
        .x_label_formatter(&step_label)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;

    if series.iter().all(|s| s.points.is_empty()) {
        let center = ((x_range.0 + x_range.1) / 2.0, (y_range.0 + y_range.1) / 2.0);
        let style = TextStyle::from(("sans-serif", 20).into_font())
            .color(&BLACK)
            .pos(text_anchor::Pos::new(
                text_anchor::HPos::Center,
                text_anchor::VPos::Center,
            ));
        chart
            .plotting_area()
            .draw(&Text::new(empty_note.to_string(), center, style))
            .map_err(draw_err)?;
        return Ok(());
    }

    for s in series.iter().filter(|s| !s.points.is_empty()) {
        let style = s.style;
        let line = LineSeries::new(s.points.iter().copied(), style);
        let line = if s.marks { line.point_size(3) } else { line };
        chart
            .draw_series(line)
            .map_err(draw_err)?
            .label(s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    // Keep the legend off the end of the first curve (where people look).
    let ends_high = series[0]
        .points
        .last()
        .is_some_and(|p| p.1 > (y_range.0 + y_range.1) / 2.0);
    chart
        .configure_series_labels()
        .position(if ends_high {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        })
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

/// Steps are integers; a short run's half-step ticks keep one decimal.
fn step_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn draw_err(e: impl std::fmt::Display) -> String {
    format!("drawing plot: {e}")
}

/// `(min, max)` of finite `values`, widened by `pad` of the span on each
/// side; a single value gets a unit-sized window, no values `(0, 1)`.
fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let half = (lo.abs() * 0.1).max(0.5);
        return (lo - half, hi + half);
    }
    let span = hi - lo;
    (lo - pad * span, hi + pad * span)
}

/// Bias-corrected exponential moving average (as TensorBoard's smoothing),
/// with a span of a twentieth of the points (1 to 200): long runs get
/// smoother curves, short ones are barely touched.
fn ema(values: &[f64]) -> Vec<f64> {
    let span = (values.len() / 20).clamp(1, 200) as f64;
    let alpha = 2.0 / (span + 1.0);
    let mut avg = 0.0;
    let mut weight = 0.0;
    values
        .iter()
        .map(|&v| {
            avg = (1.0 - alpha) * avg + alpha * v;
            weight = (1.0 - alpha) * weight + alpha;
            avg / weight
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn train(step: usize, loss: f64) -> LogEntry {
        LogEntry::Train {
            step,
            epoch: 0,
            loss,
            lr: 1e-3,
            grad_norm: 1.0,
            tokens_per_s: 100.0,
            memory_bytes: None,
            loss_scale: None,
            skipped: false,
        }
    }

    fn eval(step: usize, split: &str, acc: f64) -> LogEntry {
        LogEntry::Eval {
            step,
            epoch: 0,
            split: split.into(),
            metrics: BTreeMap::from([("accuracy".into(), acc)]),
        }
    }

    /// The trimmed contents of the `<text>` elements (plotters puts them on
    /// their own lines).
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let body = &t[t.find('>').unwrap() + 1..];
                body[..body.find("</text>").unwrap()].trim()
            })
            .collect()
    }

    /// A small well-formedness check: every tag closes in order, and the
    /// document is one `<svg>` element.
    fn assert_balanced_xml(svg: &str) {
        let body = svg.trim();
        let body = match body.strip_prefix("<?xml") {
            Some(rest) => &rest[rest.find("?>").expect("xml declaration") + 2..],
            None => body,
        }
        .trim();
        assert!(body.starts_with("<svg"), "{}", &body[..body.len().min(80)]);
        assert!(body.ends_with("</svg>"));
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = body;
        while let Some(open) = rest.find('<') {
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap();
                stack.push(name);
            }
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    }

    #[test]
    fn writes_svg_with_both_panels() {
        let mut entries: Vec<LogEntry> = (1..=300)
            .map(|s| {
                train(
                    s,
                    3.0 / (s as f64).sqrt() + 0.1 * ((s * 7919) % 13) as f64 / 13.0,
                )
            })
            .collect();
        entries.push(train(301, f64::NAN));
        entries.push(train(302, f64::INFINITY));
        for s in (50..=300).step_by(50) {
            entries.push(eval(s, "validation", 0.5 + s as f64 / 1000.0));
            entries.push(eval(s, "test", 0.1));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        plot_curves(&entries, "accuracy", &path).unwrap();

        let svg = std::fs::read_to_string(&path).unwrap();
        assert_balanced_xml(&svg);
        let texts = texts(&svg);
        for want in [
            "Training loss",
            "Validation accuracy",
            "moving average",
            "step",
            "loss",
        ] {
            assert!(texts.contains(&want), "no text {want:?} in {texts:?}");
        }
        // Non-finite losses were skipped, not written as coordinates.
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "non-finite coordinates"
        );
        // Six validation points marked with circles; the test split is ignored.
        assert_eq!(svg.matches("<circle").count(), 6);
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_panel_data_is_noted_not_an_error() {
        let only_loss: Vec<_> = (0..10).map(|s| train(s, 1.0)).collect();
        let svg = render_curves(&only_loss, "bleu").unwrap();
        assert_balanced_xml(&svg);
        assert!(svg.contains("no validation evaluation with `bleu`"));

        let only_eval = vec![eval(10, "validation", 0.5)];
        let svg = render_curves(&only_eval, "accuracy").unwrap();
        assert_balanced_xml(&svg);
        assert!(svg.contains("no finite training loss"));
        assert!(texts(&svg).contains(&"Validation accuracy"));
        assert!(texts(&svg).contains(&"Training loss"));
    }

    #[test]
    fn empty_log_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        let err = plot_curves(&[], "accuracy", &path).unwrap_err();
        assert!(err.contains("nothing to plot"), "{err}");
        assert!(!path.exists());
        // Only NaN losses and another split's metric: still nothing to plot.
        let err = plot_curves(
            &[train(1, f64::NAN), eval(1, "test", 0.3)],
            "accuracy",
            &path,
        )
        .unwrap_err();
        assert!(err.contains("validation `accuracy`"), "{err}");
    }

    #[test]
    fn title_text_is_escaped() {
        let entries = vec![train(1, 1.0), train(2, 0.5)];
        let svg = render_curves(&entries, "f1<macro>&").unwrap();
        assert_balanced_xml(&svg);
        assert!(texts(&svg).contains(&"Validation f1&lt;macro&gt;&amp;"));
    }

    #[test]
    fn ema_is_debiased_and_smooths() {
        assert_eq!(ema(&[]), Vec::<f64>::new());
        // Constant input stays constant from the first point (bias corrected).
        for v in ema(&[2.0; 100]) {
            assert!((v - 2.0).abs() < 1e-12);
        }
        // Short series are not smoothed (span 1).
        assert_eq!(ema(&[1.0, 3.0, 2.0]), vec![1.0, 3.0, 2.0]);
        // Alternating noise around 1 is damped.
        let noisy: Vec<f64> = (0..400)
            .map(|i| if i % 2 == 0 { 0.0 } else { 2.0 })
            .collect();
        let smooth = ema(&noisy);
        assert!(smooth[300..].iter().all(|v| (v - 1.0).abs() < 0.2));
    }

    #[test]
    fn ranges_handle_degenerate_input() {
        assert_eq!(padded_range([].into_iter(), 0.05), (0.0, 1.0));
        assert_eq!(padded_range([f64::NAN].into_iter(), 0.05), (0.0, 1.0));
        assert_eq!(padded_range([3.0, 3.0].into_iter(), 0.05), (2.5, 3.5));
        assert_eq!(padded_range([0.0, 10.0].into_iter(), 0.1), (-1.0, 11.0));
    }
}
