//! `runlog plot`, end to end: the PNG is decoded (size, pixels of each curve's colour), the SVG
//! holds polylines and the legend text, and errors say what to try.

use std::path::Path;
use std::process::{Command, Output};

use runlog::{RunStatus, Store};

/// The first curve colours of the plot palette (matplotlib's tab10).
const BLUE: [u8; 3] = [31, 119, 180];
const ORANGE: [u8; 3] = [255, 127, 14];
const GREEN: [u8; 3] = [44, 160, 44];

fn runlog(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runlog"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Two runs: `alpha` (loss, acc; 5 000 steps) and `beta` (loss; 300 steps). Returns their ids.
fn build(dir: &Path) -> (String, String) {
    let store = Store::open(dir).unwrap();
    let e = store.experiment("exp").unwrap();
    let a = e.start_run("alpha").unwrap();
    for step in 0..5000 {
        let noise = ((step * 7919) % 13) as f64 / 50.0;
        a.log_metrics(
            step,
            &[
                ("loss", 2.0 / (1.0 + step as f64 / 500.0) + noise),
                ("acc", step as f64 / 5000.0),
            ],
        )
        .unwrap();
    }
    let b = e.start_run("beta").unwrap();
    for step in 0..300 {
        b.log_metric("loss", step * 10, 1.5 - step as f64 / 400.0)
            .unwrap();
    }
    let ids = (a.id().to_string(), b.id().to_string());
    a.finish(RunStatus::Finished).unwrap();
    b.finish(RunStatus::Finished).unwrap();
    ids
}

fn decode(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

fn count(px: &[[u8; 3]], c: [u8; 3]) -> usize {
    px.iter().filter(|p| **p == c).count()
}

#[test]
fn png_overlays_runs_and_keys() {
    let keep = std::env::var_os("RUNLOG_PLOT_KEEP");
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = build(tmp.path());
    let out_png = tmp.path().join("plot.png");
    let out = runlog(
        tmp.path(),
        &[
            "plot",
            &format!("{a}:loss"),
            &format!("{}:loss", &b[..8]),
            "alpha:acc",
            "--out",
            out_png.to_str().unwrap(),
            "--downsample",
            "200",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(3 curves)"),
        "{}",
        text(&out.stdout)
    );
    let (w, h, px) = decode(&out_png);
    assert_eq!((w, h), (1200, 700));
    // Each curve's colour is drawn (a line across the chart is hundreds of pixels).
    for (name, c) in [("blue", BLUE), ("orange", ORANGE), ("green", GREEN)] {
        let n = count(&px, c);
        assert!(n > 300, "{name}: {n} pixels");
    }
    // Mostly white background.
    assert!(count(&px, [255, 255, 255]) > px.len() / 2);
    // RUNLOG_PLOT_KEEP=FILE keeps the image to look at.
    if let Some(keep) = keep {
        std::fs::copy(&out_png, keep).unwrap();
    }
}

#[test]
fn svg_has_polylines_and_legend_and_time_axis() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = build(tmp.path());
    let out_svg = tmp.path().join("plot.svg");
    // A whole run (every key), over time.
    let out = runlog(
        tmp.path(),
        &[
            "plot",
            &a,
            "--out",
            out_svg.to_str().unwrap(),
            "--x",
            "time",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(&out_svg).unwrap();
    assert!(
        svg.matches("<polyline").count() >= 2 + 2,
        "{} polylines",
        svg.matches("<polyline").count()
    );
    assert!(
        svg.contains("alpha: loss") && svg.contains("alpha: acc"),
        "legend"
    );
    assert!(svg.contains("time (s since the first point)"), "axis name");
}

#[test]
fn envelope_is_drawn_when_downsampled() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let out_svg = tmp.path().join("env.svg");
    let out = runlog(
        tmp.path(),
        &[
            "plot",
            "alpha:loss",
            "--out",
            out_svg.to_str().unwrap(),
            "--downsample",
            "50",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(&out_svg).unwrap();
    assert!(svg.contains("<polygon"), "the min/max band");
    // Not downsampled (fewer points than buckets): no band.
    let out = runlog(
        tmp.path(),
        &[
            "plot",
            "beta:loss",
            "--out",
            out_svg.to_str().unwrap(),
            "--downsample",
            "1000",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(&out_svg).unwrap();
    assert!(!svg.contains("<polygon"));
}

#[test]
fn errors_say_what_to_try() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let png = tmp.path().join("x.png");
    let out = runlog(
        tmp.path(),
        &["plot", "alpha:los", "--out", png.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("has no metric \"los\"") && err.contains("acc, loss"),
        "{err}"
    );

    let out = runlog(
        tmp.path(),
        &["plot", "alpah:loss", "--out", png.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("alpha"), "suggests the close name: {err}");

    let jpg = tmp.path().join("x.jpg");
    let out = runlog(
        tmp.path(),
        &["plot", "alpha:loss", "--out", jpg.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(".jpg") && err.contains("PNG and SVG"), "{err}");
    assert!(!png.exists() && !jpg.exists());
}

#[test]
fn run_names_with_colons() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = Store::open(tmp.path()).unwrap();
        let run = store
            .experiment("exp")
            .unwrap()
            .start_run("bert:large")
            .unwrap();
        for step in 0..10 {
            run.log_metric("eval:loss", step, step as f64).unwrap();
        }
        run.finish(RunStatus::Finished).unwrap();
    }
    let svg = tmp.path().join("c.svg");
    for spec in ["bert:large", "bert:large:eval:loss"] {
        let out = runlog(tmp.path(), &["plot", spec, "--out", svg.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{spec}: {}", text(&out.stderr));
        let s = std::fs::read_to_string(&svg).unwrap();
        assert!(s.contains("bert:large: eval:loss"), "{spec}");
    }
}

/// Infinities share buckets with finite points (a diverged step, an `inf` sentinel): the
/// finite points are still drawn, as a line and an envelope, and the sparkline of `show` is not
/// blank. A series with no finite point at all is an error that says so.
#[test]
fn infinities_do_not_hide_the_finite_points_around_them() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let e = store.experiment("odd").unwrap();
    let run = e.start_run("spiky").unwrap();
    for s in 0..1000 {
        let v = match s % 4 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            _ => s as f64,
        };
        run.log_metric("x", s, v).unwrap();
    }
    run.finish(RunStatus::Finished).unwrap();
    let dead = e.start_run("dead").unwrap();
    dead.log_metric("x", 0, f64::NAN).unwrap();
    dead.log_metric("x", 1, f64::INFINITY).unwrap();
    dead.finish(RunStatus::Finished).unwrap();
    drop(store);

    let png = tmp.path().join("spiky.png");
    // Logged within a few milliseconds, the points share few time buckets: a short line.
    for (extra, least) in [(&["--downsample", "50"][..], 300), (&["--x", "time"], 1)] {
        let mut args = vec!["plot", "spiky", "--out", png.to_str().unwrap()];
        args.extend(extra);
        let out = runlog(tmp.path(), &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{extra:?}: {}",
            text(&out.stderr)
        );
        let (_, _, px) = decode(&png);
        let n = count(&px, BLUE);
        assert!(n >= least, "{extra:?}: {n} blue pixels");
    }
    let svg = tmp.path().join("spiky.svg");
    let out = runlog(
        tmp.path(),
        &[
            "plot",
            "spiky",
            "--out",
            svg.to_str().unwrap(),
            "--downsample",
            "50",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::read_to_string(&svg).unwrap().contains("<polygon"),
        "the band"
    );

    let out = runlog(tmp.path(), &["show", "spiky"]);
    let show = text(&out.stdout);
    let line = show.lines().find(|l| l.starts_with("x ")).unwrap();
    assert!(line.contains('█') && line.contains('▁'), "{line}");

    let out = runlog(
        tmp.path(),
        &["plot", "dead", "--out", png.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no finite points"),
        "{}",
        text(&out.stderr)
    );
}
