//! `runlog plot RUN[:KEY]... --out FILE.png|FILE.svg`: curves of several runs and keys on one
//! chart, with axes and a legend. Each curve is downsampled to `--downsample` buckets; where a
//! bucket holds more than one point the curve goes through the bucket means and a shaded
//! band shows the min/max envelope. Drawn with plotters and an embedded DejaVu Sans, so no
//! system font library is needed.

use std::path::Path;
use std::process::ExitCode;

use plotters::coord::Shift;
use plotters::prelude::*;
use runlog::{Axis, Bucket};

use crate::cli::*;
use crate::error::{CliError, Result};
use crate::resolve;

/// DejaVu Sans (see `assets/README.md`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FONT_NAME: &str = "sans-serif";

/// Image size in pixels.
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 700;

/// Curve colours (matplotlib's tab10), in legend order.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The image formats `--out` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageKind {
    Png,
    Svg,
}

fn image_kind(out: &Path) -> Result<ImageKind> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => Ok(ImageKind::Png),
        Some("svg") => Ok(ImageKind::Svg),
        other => Err(CliError::new(match other {
            Some(e) => format!(
                "cannot write {}: .{e} images are not supported",
                out.display()
            ),
            None => format!("cannot write {}: it has no file extension", out.display()),
        })
        .hint("the supported formats are PNG and SVG: name the file FILE.png or FILE.svg")),
    }
}

/// One curve to draw.
#[derive(Debug)]
struct Curve {
    label: String,
    /// (x, y) through the bucket means (or the points themselves).
    line: Vec<(f64, f64)>,
    /// (x, min, max) where a bucket holds more than one point.
    envelope: Vec<(f64, f64, f64)>,
}

/// `runlog plot`.
pub fn plot(ctx: &Context<'_>, a: &PlotArgs) -> Result<ExitCode> {
    let kind = image_kind(&a.out)?;
    if a.downsample == 0 {
        return Err(CliError::new("--downsample 0 leaves nothing to draw")
            .hint("give the number of buckets per curve, for example --downsample 1000"));
    }
    let store = resolve::open_store(ctx.store)?;
    let axis = match a.x {
        XAxis::Step => Axis::Step,
        XAxis::Time => Axis::Time,
    };
    let mut raw: Vec<(String, Vec<Bucket>)> = Vec::new();
    for spec in &a.series {
        let (run, key) = parse_spec(&store, spec)?;
        let key = key.as_deref();
        let reader = store.reader(&run.run_id)?;
        let mut keys: Vec<String> = reader.series().into_iter().map(|(_, k)| k).collect();
        keys.sort();
        let chosen: Vec<String> = match key {
            Some(k) => {
                if !keys.iter().any(|have| have == k) {
                    let err = CliError::new(format!(
                        "run {} ({}) has no metric {k:?}",
                        run.run_id, run.run_name
                    ));
                    return Err(if keys.is_empty() {
                        err.hint("this run has no metrics at all")
                    } else {
                        err.hint(format!("its metrics are: {}", keys.join(", ")))
                    });
                }
                vec![k.to_string()]
            }
            None => {
                if keys.is_empty() {
                    return Err(CliError::new(format!(
                        "run {} ({}) has no metrics to plot",
                        run.run_id, run.run_name
                    )));
                }
                keys
            }
        };
        let who = if run.run_name.is_empty() {
            run.run_id[..8.min(run.run_id.len())].to_string()
        } else {
            run.run_name.clone()
        };
        for k in chosen {
            let buckets = finite_buckets(&reader, &k, axis, a.downsample)?;
            raw.push((format!("{who}: {k}"), buckets));
        }
    }
    // Time is drawn in seconds since the earliest point of any curve.
    let t0 = match axis {
        Axis::Step => 0,
        Axis::Time => raw
            .iter()
            .flat_map(|(_, b)| b.iter().map(|b| b.start.min(b.last.timestamp_ms)))
            .min()
            .unwrap_or(0),
    };
    let scale = |v: f64| match axis {
        Axis::Step => v,
        Axis::Time => (v - t0 as f64) / 1000.0,
    };
    let curves: Vec<Curve> = raw
        .into_iter()
        .map(|(label, buckets)| {
            let mut c = Curve {
                label,
                line: Vec::new(),
                envelope: Vec::new(),
            };
            for b in &buckets {
                let last_x = match axis {
                    Axis::Step => b.last.step,
                    Axis::Time => b.last.timestamp_ms,
                };
                if b.count <= 1 {
                    if b.last.value.is_finite() {
                        c.line.push((scale(last_x as f64), b.last.value));
                    }
                    continue;
                }
                let mid = scale(b.start as f64 / 2.0 + (b.end - 1) as f64 / 2.0);
                if b.mean.is_finite() {
                    c.line.push((mid, b.mean));
                }
                if b.min.is_finite() && b.max.is_finite() {
                    c.envelope.push((mid, b.min, b.max));
                }
            }
            c
        })
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for c in &curves {
        for &(x, y) in &c.line {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        for &(x, lo, hi) in &c.envelope {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(lo), y1.max(hi));
        }
    }
    if x0 > x1 {
        return Err(CliError::new(
            "nothing to draw: the chosen metrics have no finite points",
        ));
    }
    if x1 - x0 < 1e-9 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    let pad = if y1 - y0 < 1e-12 {
        y0.abs().max(1.0) * 0.05
    } else {
        (y1 - y0) * 0.05
    };
    let frame = Frame {
        x: x0..x1,
        y: (y0 - pad)..(y1 + pad),
        x_desc: match axis {
            Axis::Step => "step",
            Axis::Time => "time (s since the first point)",
        },
    };
    // Registering twice is harmless; the font is embedded, so this cannot fail in practice.
    plotters::style::register_font(FONT_NAME, FontStyle::Normal, FONT)
        .map_err(|_| CliError::new("the embedded font could not be loaded"))?;
    let drawn = match kind {
        ImageKind::Png => {
            let area = BitMapBackend::new(&a.out, (WIDTH, HEIGHT)).into_drawing_area();
            draw(&area, &curves, &frame).and_then(|()| area.present().map_err(|e| e.to_string()))
        }
        ImageKind::Svg => {
            let area = SVGBackend::new(&a.out, (WIDTH, HEIGHT)).into_drawing_area();
            draw(&area, &curves, &frame).and_then(|()| area.present().map_err(|e| e.to_string()))
        }
    };
    drawn.map_err(|e| {
        CliError::new(format!("cannot draw {}: {e}", a.out.display()))
            .hint("check that the folder exists and is writable")
    })?;
    println!(
        "wrote {} ({} curve{})",
        a.out.display(),
        curves.len(),
        if curves.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `RUN` or `RUN:KEY`. Run names and keys may both hold colons: the first split whose left
/// side names a run wins, else the whole text is the run.
/// `n` buckets of `key` for drawing, over the finite values only.
///
/// A bucket's min, max and mean skip NaN but not ±infinity, so one diverged point (or an `inf`
/// logged as a sentinel) would hide every finite point sharing its bucket. Such a bucket is
/// recomputed from its points, keeping only the finite ones: `count` becomes theirs and `last`
/// the last finite point. Only buckets that hold an infinity are read again.
pub(crate) fn finite_buckets(
    reader: &runlog::RunReader,
    key: &str,
    axis: Axis,
    n: usize,
) -> runlog::metrics::Result<Vec<Bucket>> {
    let mut buckets = reader.downsample(key, axis, n, None)?;
    for b in &mut buckets {
        finite_only(reader, key, axis, b)?;
    }
    Ok(buckets)
}

fn finite_only(
    reader: &runlog::RunReader,
    key: &str,
    axis: Axis,
    b: &mut Bucket,
) -> runlog::metrics::Result<()> {
    if b.count <= 1 || (b.min.is_finite() && b.max.is_finite()) {
        return Ok(());
    }
    let points = reader.window(key, axis, b.start, b.end)?;
    let (mut n, mut sum, mut min, mut max) = (0u64, 0.0, f64::INFINITY, f64::NEG_INFINITY);
    let mut last = None;
    for i in 0..points.len() {
        let v = points.values[i];
        if v.is_finite() {
            (n, sum, min, max) = (n + 1, sum + v, min.min(v), max.max(v));
            let p = runlog::Point {
                step: points.steps[i],
                timestamp_ms: points.timestamps_ms[i],
                value: v,
            };
            // MLflow's order for "last": highest step, then timestamp, then value.
            if last.is_none_or(|l: runlog::Point| {
                (p.step, p.timestamp_ms, p.value) >= (l.step, l.timestamp_ms, l.value)
            }) {
                last = Some(p);
            }
        }
    }
    b.count = n;
    (b.min, b.max, b.mean) = if n == 0 {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        (min, max, sum / n as f64)
    };
    if let Some(last) = last {
        b.last = last;
    } else {
        b.last.value = f64::NAN;
    }
    Ok(())
}

fn parse_spec(store: &runlog::Store, spec: &str) -> Result<(runlog::RunInfo, Option<String>)> {
    let mut first_err = None;
    for (i, _) in spec.match_indices(':') {
        match resolve::resolve_run(store, &spec[..i]) {
            Ok(run) => {
                let key = &spec[i + 1..];
                return Ok((run, (!key.is_empty()).then(|| key.to_string())));
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match resolve::resolve_run(store, spec) {
        Ok(run) => Ok((run, None)),
        Err(e) => Err(first_err.unwrap_or(e)),
    }
}

/// The chart's ranges and axis name.
struct Frame {
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &'static str,
}

/// An x tick: whole numbers without a fraction (steps), others with up to 4 decimals.
fn tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v.round())
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    curves: &[Curve],
    frame: &Frame,
) -> std::result::Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    area.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(frame.x.clone(), frame.y.clone())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(frame.x_desc)
        .x_label_formatter(&tick)
        .y_desc("value")
        .label_style((FONT_NAME, 14))
        .axis_desc_style((FONT_NAME, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(err)?;
    for (i, c) in curves.iter().enumerate() {
        let (r, g, b) = PALETTE[i % PALETTE.len()];
        let color = RGBColor(r, g, b);
        if c.envelope.len() > 1 {
            let mut poly: Vec<(f64, f64)> = c.envelope.iter().map(|&(x, _, hi)| (x, hi)).collect();
            poly.extend(c.envelope.iter().rev().map(|&(x, lo, _)| (x, lo)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    color.mix(0.18).filled(),
                )))
                .map_err(err)?;
        }
    }
    for (i, c) in curves.iter().enumerate() {
        let (r, g, b) = PALETTE[i % PALETTE.len()];
        let color = RGBColor(r, g, b);
        let style = color.stroke_width(2);
        let series = if c.line.len() == 1 {
            chart.draw_series(std::iter::once(Circle::new(c.line[0], 3, color.filled())))
        } else {
            chart.draw_series(LineSeries::new(c.line.iter().copied(), style))
        }
        .map_err(err)?;
        series
            .label(c.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT_NAME, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}
