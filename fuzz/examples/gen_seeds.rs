//! Writes the seed corpora under `fuzz/seeds/` (a few KiB in all):
//!
//! - `seeds/block_decoder/`: block payloads made by `fuzzing::encode_block` (f32 and f64 value
//!   columns, FOR and DELTA integer columns, NaN / ±inf / -0.0 values, one point and many);
//! - `seeds/record_decoder/`: segment images written by the real writer (`MetricStore`), minus
//!   their 16-byte header (the target puts a valid header in front): an active segment cut
//!   after a flush and the same segment sealed (index, footer and seal records), plus one whole
//!   file, header included.
//!
//! `codec_roundtrip` takes structured input from `arbitrary`, so it needs no seeds.
//!
//! Run from the repository root: `cargo run --manifest-path fuzz/Cargo.toml --example gen_seeds`.

use std::fs;
use std::path::{Path, PathBuf};

use runlog_metrics::fuzzing::encode_block;
use runlog_metrics::{MetricStore, Point, Points, WriterOptions};

fn points(n: i64, step: impl Fn(i64) -> i64, value: impl Fn(i64) -> f64) -> Points {
    let mut p = Points::default();
    for i in 0..n {
        p.push(Point::new(
            step(i),
            1_700_000_000_000 + i * 1000 + (i % 3),
            value(i),
        ));
    }
    p
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).unwrap();
    println!("{:>6} bytes  {}", bytes.len(), dir.join(name).display());
}

fn segment_files(run: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");

    let blocks = root.join("block_decoder");
    fs::create_dir_all(&blocks).unwrap();
    let specials = [
        f64::NAN,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::from_bits(0x7ff0_dead_beef_0001),
    ];
    let cases: [(&str, Points); 6] = [
        ("one-point", points(1, |i| i, |_| 0.5)),
        ("f32-counter", points(64, |i| i, |i| i as f64)),
        ("f64-loss", points(64, |i| i * 10, |i| 1.0 / (i + 1) as f64)),
        (
            "specials",
            points(10, |i| i, |i| specials[i as usize % specials.len()]),
        ),
        (
            "jittery-steps",
            points(48, |i| (i * 7919) % 101 - 50, |i| (i as f64).sin()),
        ),
        (
            "extremes",
            points(
                4,
                |i| [i64::MIN, i64::MAX, 0, -1][i as usize],
                |i| [f64::MIN, f64::MAX, 1e-310, -1e300][i as usize],
            ),
        ),
    ];
    for (name, pts) in &cases {
        write(&blocks, name, &encode_block(pts));
    }

    let records = root.join("record_decoder");
    fs::create_dir_all(&records).unwrap();
    let tmp = std::env::temp_dir().join(format!("runlog-gen-seeds-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let store = MetricStore::open(&tmp).unwrap();
    let opts = WriterOptions {
        block_points: 16,
        flush_interval: None,
        ..WriterOptions::default()
    };
    let writer = store.writer("seed", opts).unwrap();
    let loss = writer.series("train/loss").unwrap();
    let acc = writer.series("eval/accuracy").unwrap();
    for step in 0..40 {
        let ts = 1_700_000_000_000 + step * 250;
        writer
            .append(loss, Point::new(step, ts, 2.0 / (step + 1) as f64))
            .unwrap();
        if step % 4 == 0 {
            writer
                .append(acc, Point::new(step, ts, (step / 4) as f64 / 10.0))
                .unwrap();
        }
    }
    writer.flush().unwrap();
    let run = store.run_dir("seed").unwrap();
    let seg = segment_files(&run).pop().expect("a segment after flush");
    let active = fs::read(&seg).unwrap();
    write(&records, "active-body", &active[16..]);
    writer.close().unwrap();
    let sealed = fs::read(&seg).unwrap();
    write(&records, "sealed-body", &sealed[16..]);
    write(&records, "sealed-whole-file", &sealed);
    fs::remove_dir_all(&tmp).unwrap();
}
