//! The reference workloads of `WORKLOADS.md`, generated from a seeded SplitMix64 so that every
//! benchmark, on every machine, measures the same data: [`W1`] (one long run) and [`W2`] (a
//! sweep of 10 experiments × 1 000 runs).
//!
//! ```
//! use runlog_workloads::{W1, W1_KEYS};
//!
//! // The first two steps of W1: every key of step 0, then every key of step 1.
//! let points: Vec<_> = W1::new(2).collect();
//! assert_eq!(points.len(), 2 * W1_KEYS.len());
//! assert_eq!((points[0].key, points[0].step), (0, 0));
//! assert_eq!((points[10].key, points[10].step), (0, 1));
//! // Values arrive as f32 tensors rounded to f64 would.
//! assert!(points.iter().all(|p| (p.value as f32) as f64 == p.value));
//! ```

/// SplitMix64, the PRNG every workload is drawn from.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

/// SplitMix64's increment: the state after `n` draws is `seed + n * GAMMA`.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    /// A generator with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Moves past the next `n` draws at once.
    fn skip(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n.wrapping_mul(GAMMA));
    }

    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The 10 metric keys of W1, in logging order.
pub const W1_KEYS: [&str; 10] = [
    "train/loss",
    "train/acc",
    "lr",
    "grad_norm",
    "layer0/weight_norm",
    "layer1/weight_norm",
    "layer2/weight_norm",
    "layer3/weight_norm",
    "layer4/weight_norm",
    "layer5/weight_norm",
];

/// Steps of the full W1 workload.
pub const W1_STEPS: u64 = 1_000_000;

/// Base of W1 timestamps.
pub const T0_MS: i64 = 1_700_000_000_000;

/// One point of W1: which key (index into [`W1_KEYS`]), step, timestamp and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct W1Point {
    /// Index into [`W1_KEYS`].
    pub key: usize,
    /// Step.
    pub step: i64,
    /// Timestamp, ms.
    pub timestamp_ms: i64,
    /// Value, already rounded through f32.
    pub value: f64,
}

/// W1: one run, 10 keys, points arriving step by step (all 10 keys of step s, then s + 1).
#[derive(Debug, Clone)]
pub struct W1 {
    rng: SplitMix64,
    step: u64,
    key: usize,
    steps: u64,
}

impl W1 {
    /// The first `steps` steps of W1 (seed 42); `W1_STEPS` for the whole workload.
    pub fn new(steps: u64) -> Self {
        W1::with_seed(steps, 42)
    }

    /// W1 drawn from another seed.
    pub fn with_seed(steps: u64, seed: u64) -> Self {
        W1 {
            rng: SplitMix64::new(seed),
            step: 0,
            key: 0,
            steps,
        }
    }

    /// The value of key `key` at step `s` before the f32 round trip, drawing from `rng`.
    fn value(rng: &mut SplitMix64, key: usize, s: f64) -> f64 {
        match key {
            0 => 2.0 * (-s / 200_000.0).exp() + 0.1 + 0.05 * rng.normal(),
            1 => (1.0 - 0.9 * (-s / 150_000.0).exp() + 0.02 * rng.normal()).clamp(0.0, 1.0),
            2 => 0.001 * 0.5f64.powf((s / 250_000.0).floor()),
            3 => (1.0 + 0.3 * rng.normal()).abs(),
            i => 10.0 + (i - 4) as f64 + 0.001 * s / 1000.0 + 0.01 * rng.normal(),
        }
    }
}

impl Iterator for W1 {
    type Item = W1Point;

    fn next(&mut self) -> Option<W1Point> {
        if self.step >= self.steps {
            return None;
        }
        let s = self.step as f64;
        let key = self.key;
        let u = self.rng.below(3) as i64;
        let timestamp_ms = T0_MS + (s * 3.7).floor() as i64 + u;
        let value = (W1::value(&mut self.rng, key, s) as f32) as f64;
        let p = W1Point {
            key,
            step: self.step as i64,
            timestamp_ms,
            value,
        };
        self.key += 1;
        if self.key == W1_KEYS.len() {
            self.key = 0;
            self.step += 1;
        }
        Some(p)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = ((self.steps - self.step) as usize) * W1_KEYS.len() - self.key;
        (left, Some(left))
    }
}

/// W1 as one column set per key, for batch ingest and for building expected answers.
#[derive(Debug, Clone, Default)]
pub struct W1Columns {
    /// Per key: steps.
    pub steps: Vec<Vec<i64>>,
    /// Per key: timestamps.
    pub timestamps_ms: Vec<Vec<i64>>,
    /// Per key: values.
    pub values: Vec<Vec<f64>>,
}

impl W1Columns {
    /// Generates the first `steps` steps of W1 into columns.
    pub fn generate(steps: u64) -> Self {
        let n = steps as usize;
        let mut c = W1Columns {
            steps: vec![Vec::with_capacity(n); W1_KEYS.len()],
            timestamps_ms: vec![Vec::with_capacity(n); W1_KEYS.len()],
            values: vec![Vec::with_capacity(n); W1_KEYS.len()],
        };
        for p in W1::new(steps) {
            c.steps[p.key].push(p.step);
            c.timestamps_ms[p.key].push(p.timestamp_ms);
            c.values[p.key].push(p.value);
        }
        c
    }
}

/// Experiments in the full W2 sweep.
pub const W2_EXPERIMENTS: usize = 10;

/// Runs per experiment in the full W2 sweep.
pub const W2_RUNS_PER_EXPERIMENT: usize = 1_000;

/// Steps of every W2 metric: each run logs its 5 metrics at steps `0..W2_STEPS`.
pub const W2_STEPS: u64 = 1_000;

/// The 5 metric keys of every W2 run, in logging order (the index [`W2Run::series`] takes).
pub const W2_METRICS: [&str; 5] = ["train/loss", "train/acc", "val/loss", "val/acc", "lr"];

/// The learning rates of the sweep, each with its param value as MLflow logs a Python float
/// (`str(0.0001)` is `"0.0001"`).
pub const W2_LRS: [(f64, &str); 4] = [
    (1e-4, "0.0001"),
    (3e-4, "0.0003"),
    (1e-3, "0.001"),
    (3e-3, "0.003"),
];

/// The batch sizes of the sweep.
pub const W2_BATCH_SIZES: [u32; 5] = [16, 32, 64, 128, 256];

/// The optimizers of the sweep.
pub const W2_OPTIMIZERS: [&str; 3] = ["adam", "sgd", "adamw"];

/// The 16 params after `lr`, `batch_size`, `optimizer` and `seed`: a few with a small set of
/// values, the others random strings; every value has 5 to 40 characters.
const W2_EXTRA_PARAMS: [(&str, &[&str]); 16] = [
    (
        "model",
        &["resnet50", "vit-b16", "convnext-tiny", "efficientnet-b0"],
    ),
    ("dataset", &["imagenet-1k", "cifar100", "places365"]),
    ("scheduler", &["cosine", "step-decay", "linear-warmup"]),
    ("precision", &["float32", "bfloat16", "mixed-fp16"]),
    ("weight_decay", &[]),
    ("dropout", &[]),
    ("warmup_steps", &[]),
    ("augmentation", &[]),
    ("init", &[]),
    ("activation", &[]),
    ("loss_fn", &[]),
    ("data_dir", &[]),
    ("checkpoint_dir", &[]),
    ("git_branch", &[]),
    ("host", &[]),
    ("notes", &[]),
];

/// Users of the `mlflow.user` tag.
const W2_USERS: [&str; 5] = ["alice", "bob", "carol", "dmitri", "eun-ji"];

/// Run names are `{adjective}-{animal}-{n}`, as MLflow names runs.
const W2_ADJECTIVES: [&str; 8] = [
    "brave", "calm", "eager", "gentle", "lucky", "quiet", "sly", "witty",
];
const W2_ANIMALS: [&str; 8] = ["owl", "fox", "yak", "carp", "mole", "wren", "lynx", "bass"];

/// Characters of the random param values.
const W2_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_";

/// The status a W2 run ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum W2Status {
    /// 90 % of the runs.
    Finished,
    /// 7 % of the runs.
    Failed,
    /// 3 % of the runs; they have no end time.
    Running,
}

impl W2Status {
    /// MLflow's name for the status (`FINISHED`, `FAILED`, `RUNNING`).
    pub fn as_str(self) -> &'static str {
        match self {
            W2Status::Finished => "FINISHED",
            W2Status::Failed => "FAILED",
            W2Status::Running => "RUNNING",
        }
    }
}

/// One metric of one W2 run as columns: `W2_STEPS` points, step by step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct W2Series {
    /// The key, one of [`W2_METRICS`].
    pub key: &'static str,
    /// Steps `0..W2_STEPS`.
    pub steps: Vec<i64>,
    /// Timestamps, ms: the run's start plus the step's time, plus 0 to 2 ms of clock jitter.
    pub timestamps_ms: Vec<i64>,
    /// Values, already rounded through f32.
    pub values: Vec<f64>,
}

/// What shapes a run's curves, drawn with the run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Curve {
    /// The `lr` param.
    lr: f64,
    /// The accuracy `val/acc` converges to.
    val_acc_max: f64,
    /// The accuracy `train/acc` converges to (a little above `val_acc_max`).
    train_acc_max: f64,
    /// The value `train/loss` falls towards.
    train_loss_floor: f64,
    /// The value `val/loss` falls towards before overfitting lifts it.
    val_loss_floor: f64,
    /// Steps for the curves to cover 63 % of the way from the start to their asymptote.
    tau: f64,
    /// Milliseconds per step (larger batches take longer).
    step_ms: f64,
    /// Seed of the per-point draws.
    seed: u64,
}

/// One run of W2: its place in the sweep, params, tags and status, and (on demand) its
/// metrics.
///
/// Metrics are not stored: [`W2Run::series`] draws one key's 1 000 points when asked, and
/// [`W2Run::latest`] computes the last point alone, so scanning the whole sweep for its
/// latest values costs almost nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct W2Run {
    /// The experiment, `0..experiments`.
    pub experiment: usize,
    /// The run's index in its experiment, `0..runs_per_experiment`.
    pub index: usize,
    /// The run name, `{adjective}-{animal}-{n}` as MLflow makes them (names repeat).
    pub name: String,
    /// 20 params: `lr`, `batch_size`, `optimizer`, `seed`, then 16 more string params.
    pub params: Vec<(String, String)>,
    /// 5 tags: `mlflow.runName`, `mlflow.user`, `mlflow.source.name`,
    /// `mlflow.source.git.commit` (one per experiment) and `sweep`.
    pub tags: Vec<(String, String)>,
    /// How the run ended: 90 % FINISHED, 7 % FAILED, 3 % RUNNING.
    pub status: W2Status,
    /// Start time, ms: experiment `e` runs on day `e` after [`T0_MS`], one run a minute.
    pub start_time_ms: i64,
    /// End time, ms, after the last point; `None` while RUNNING.
    pub end_time_ms: Option<i64>,
    curve: Curve,
}

/// Random draws one point consumes (timestamp jitter, then a Box–Muller pair).
const DRAWS_PER_POINT: u64 = 3;

impl W2Run {
    /// The value of the param `key`, if the run has it.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The metric [`W2_METRICS`]`[key]` as columns.
    ///
    /// Curves follow the hyperparameters: accuracies rise from 0.1 towards a plateau that is
    /// highest for `lr` 1e-3 (3e-3 for sgd) and batch size 64 and varies by ±0.012 from run to
    /// run; small learning rates converge slowly, and may not converge within 1 000 steps;
    /// losses fall from 2.3 towards a floor set by the plateau, `val/loss` turning up again
    /// once the run overfits; `lr` follows a cosine schedule from the `lr` param. Noise is
    /// Gaussian and drawn per point.
    ///
    /// # Panics
    ///
    /// If `key` is not below `W2_METRICS.len()`.
    pub fn series(&self, key: usize) -> W2Series {
        let n = W2_STEPS as usize;
        let mut series = W2Series {
            key: W2_METRICS[key],
            steps: Vec::with_capacity(n),
            timestamps_ms: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
        };
        let mut rng = SplitMix64::new(self.series_seed(key));
        for step in 0..W2_STEPS {
            let (timestamp_ms, value) = self.point(key, step, &mut rng);
            series.steps.push(step as i64);
            series.timestamps_ms.push(timestamp_ms);
            series.values.push(value);
        }
        series
    }

    /// All 5 metrics, in [`W2_METRICS`] order.
    pub fn metrics(&self) -> [W2Series; 5] {
        std::array::from_fn(|key| self.series(key))
    }

    /// The last point of [`W2_METRICS`]`[key]` (step `W2_STEPS - 1`) as `(step, timestamp_ms,
    /// value)`, the same as the end of [`W2Run::series`] but without drawing the other points.
    /// It is also MLflow's latest value, as steps only grow.
    ///
    /// # Panics
    ///
    /// If `key` is not below `W2_METRICS.len()`.
    pub fn latest(&self, key: usize) -> (i64, i64, f64) {
        assert!(key < W2_METRICS.len(), "W2 runs have no metric {key}");
        let step = W2_STEPS - 1;
        let mut rng = SplitMix64::new(self.series_seed(key));
        rng.skip(step * DRAWS_PER_POINT);
        let (timestamp_ms, value) = self.point(key, step, &mut rng);
        (step as i64, timestamp_ms, value)
    }

    /// The seed of one key's per-point draws.
    fn series_seed(&self, key: usize) -> u64 {
        derive_seed(self.curve.seed, key as u64)
    }

    /// Draws the point of `key` at `step`: exactly [`DRAWS_PER_POINT`] draws from `rng`.
    fn point(&self, key: usize, step: u64, rng: &mut SplitMix64) -> (i64, f64) {
        let c = &self.curve;
        let jitter = rng.below(3) as i64;
        let noise = rng.normal();
        let s = step as f64;
        let timestamp_ms = self.start_time_ms + (s * c.step_ms).floor() as i64 + jitter;
        let decay = (-s / c.tau).exp();
        let value = match key {
            0 => {
                let floor = c.train_loss_floor;
                (floor + (2.3 - floor) * decay + 0.03 * noise).max(1e-4)
            }
            1 => (0.1 + (c.train_acc_max - 0.1) * (1.0 - decay) + 0.01 * noise).clamp(0.0, 1.0),
            2 => {
                let floor = c.val_loss_floor;
                let overfit = 1e-4 * (s - 3.0 * c.tau).max(0.0);
                (floor + (2.3 - floor) * decay + overfit + 0.015 * noise).max(1e-4)
            }
            3 => (0.1 + (c.val_acc_max - 0.1) * (1.0 - decay) + 0.005 * noise).clamp(0.0, 1.0),
            _ => {
                let progress = s / W2_STEPS as f64;
                c.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        };
        (timestamp_ms, (value as f32) as f64)
    }
}

/// A seed for the stream `which` of the generator seeded with `seed`.
fn derive_seed(seed: u64, which: u64) -> u64 {
    SplitMix64::new(seed ^ which.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

/// W2: a sweep of `experiments` × `runs_per_experiment` runs, experiment by experiment.
///
/// Every run is drawn from its own stream, seeded by (seed, experiment, index), so a smaller
/// sweep holds exactly the first runs of the full one, and [`W2::run`] gives any run directly.
///
/// ```
/// use runlog_workloads::{W2, W2_METRICS, W2_STEPS, W2Status};
///
/// let runs: Vec<_> = W2::new(2, 3).collect();
/// assert_eq!(runs.len(), 6);
/// let run = &runs[4];
/// assert_eq!((run.experiment, run.index), (1, 1));
/// assert_eq!(run.params.len(), 20);
/// assert_eq!(run.tags.len(), 5);
/// assert!(["adam", "sgd", "adamw"].contains(&run.param("optimizer").unwrap()));
///
/// // Metrics come as columns, one key at a time, and match a run drawn directly.
/// let val_acc = run.series(3);
/// assert_eq!(val_acc.key, W2_METRICS[3]);
/// assert_eq!(val_acc.values.len(), W2_STEPS as usize);
/// assert_eq!(W2::new(10, 1000).run(1, 1), *run);
/// assert_eq!(run.latest(3).2, *val_acc.values.last().unwrap());
/// assert_eq!(run.end_time_ms.is_none(), run.status == W2Status::Running);
/// ```
#[derive(Debug, Clone)]
pub struct W2 {
    seed: u64,
    experiments: usize,
    runs_per_experiment: usize,
    next: usize,
}

impl W2 {
    /// The sweep of `experiments` × `runs_per_experiment` runs (seed 42);
    /// `W2::new(W2_EXPERIMENTS, W2_RUNS_PER_EXPERIMENT)` for the whole workload.
    pub fn new(experiments: usize, runs_per_experiment: usize) -> Self {
        W2::with_seed(experiments, runs_per_experiment, 42)
    }

    /// W2 drawn from another seed.
    pub fn with_seed(experiments: usize, runs_per_experiment: usize, seed: u64) -> Self {
        W2 {
            seed,
            experiments,
            runs_per_experiment,
            next: 0,
        }
    }

    /// The name of experiment `experiment`: `w2-sweep-00`, `w2-sweep-01`, ….
    pub fn experiment_name(experiment: usize) -> String {
        format!("w2-sweep-{experiment:02}")
    }

    /// Run `index` of experiment `experiment`, the same whatever the size of the sweep.
    pub fn run(&self, experiment: usize, index: usize) -> W2Run {
        let experiment_seed = derive_seed(self.seed, experiment as u64);
        let mut rng = SplitMix64::new(derive_seed(experiment_seed, index as u64));
        let pick = |rng: &mut SplitMix64, n: usize| rng.below(n as u64) as usize;

        let (lr, lr_text) = W2_LRS[pick(&mut rng, W2_LRS.len())];
        let batch_size = W2_BATCH_SIZES[pick(&mut rng, W2_BATCH_SIZES.len())];
        let optimizer = pick(&mut rng, W2_OPTIMIZERS.len());
        let mut params = vec![
            ("lr".to_owned(), lr_text.to_owned()),
            ("batch_size".to_owned(), batch_size.to_string()),
            ("optimizer".to_owned(), W2_OPTIMIZERS[optimizer].to_owned()),
            ("seed".to_owned(), rng.below(100_000).to_string()),
        ];
        for (key, choices) in W2_EXTRA_PARAMS {
            let value = if choices.is_empty() {
                let len = 5 + pick(&mut rng, 36);
                (0..len)
                    .map(|_| char::from(W2_CHARS[pick(&mut rng, W2_CHARS.len())]))
                    .collect()
            } else {
                choices[pick(&mut rng, choices.len())].to_owned()
            };
            params.push((key.to_owned(), value));
        }

        let status = match rng.below(100) {
            0..90 => W2Status::Finished,
            90..97 => W2Status::Failed,
            _ => W2Status::Running,
        };
        let name = format!(
            "{}-{}-{}",
            W2_ADJECTIVES[pick(&mut rng, W2_ADJECTIVES.len())],
            W2_ANIMALS[pick(&mut rng, W2_ANIMALS.len())],
            rng.below(1000)
        );
        let commit = format!(
            "{:016x}{:016x}{:08x}",
            derive_seed(experiment_seed, u64::MAX),
            derive_seed(experiment_seed, u64::MAX - 1),
            derive_seed(experiment_seed, u64::MAX - 2) >> 32
        );
        let tags = vec![
            ("mlflow.runName".to_owned(), name.clone()),
            (
                "mlflow.user".to_owned(),
                W2_USERS[pick(&mut rng, W2_USERS.len())].to_owned(),
            ),
            ("mlflow.source.name".to_owned(), "train.py".to_owned()),
            ("mlflow.source.git.commit".to_owned(), commit),
            ("sweep".to_owned(), W2::experiment_name(experiment)),
        ];

        // The plateau peaks at the optimizer's best lr and batch size 64.
        let (plateau, best_lr) = match optimizer {
            0 => (0.896, 1e-3),
            1 => (0.884, 3e-3),
            _ => (0.9, 1e-3),
        };
        let batch = f64::from(batch_size) / 64.0;
        let val_acc_max =
            (plateau - 0.035 * (lr / best_lr).log10().abs() - 0.004 * batch.log2().abs()
                + 0.012 * rng.normal())
            .clamp(0.5, 0.99);
        let step_ms = 0.75 * f64::from(batch_size);
        let start_time_ms = T0_MS
            + experiment as i64 * 86_400_000
            + index as i64 * 60_000
            + rng.below(60_000) as i64;
        let end_delay = 1 + rng.below(1_000) as i64;
        let end_time_ms = (status != W2Status::Running)
            .then(|| start_time_ms + (W2_STEPS as f64 * step_ms).ceil() as i64 + end_delay);
        let train_acc_max = (val_acc_max + 0.03).min(0.995);
        let curve = Curve {
            lr,
            val_acc_max,
            train_acc_max,
            train_loss_floor: -train_acc_max.ln() * 0.9,
            val_loss_floor: -val_acc_max.ln() * 1.1 + 0.05,
            tau: 120.0 * (best_lr / lr).sqrt() * batch.powf(0.25),
            step_ms,
            seed: rng.next_u64(),
        };
        W2Run {
            experiment,
            index,
            name,
            params,
            tags,
            status,
            start_time_ms,
            end_time_ms,
            curve,
        }
    }
}

impl Iterator for W2 {
    type Item = W2Run;

    fn next(&mut self) -> Option<W2Run> {
        if self.next >= self.experiments.saturating_mul(self.runs_per_experiment) {
            return None;
        }
        let run = self.run(
            self.next / self.runs_per_experiment,
            self.next % self.runs_per_experiment,
        );
        self.next += 1;
        Some(run)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let total = self.experiments.saturating_mul(self.runs_per_experiment);
        let left = total.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for W2 {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w1_is_deterministic_and_step_major() {
        let a: Vec<W1Point> = W1::new(3).collect();
        let b: Vec<W1Point> = W1::new(3).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 30);
        assert!(a[..10].iter().all(|p| p.step == 0));
        assert_eq!(a[10].key, 0);
        assert!(a.iter().all(|p| (p.value as f32) as f64 == p.value));
        assert_eq!(a[2].value, (0.001f32) as f64);
    }

    #[test]
    fn timestamps_follow_the_clock_model() {
        for p in W1::new(1000) {
            let base = T0_MS + (p.step as f64 * 3.7).floor() as i64;
            assert!((base..=base + 2).contains(&p.timestamp_ms));
        }
    }

    #[test]
    fn w2_is_deterministic_and_the_same_at_every_size() {
        let a: Vec<W2Run> = W2::new(2, 3).collect();
        let b: Vec<W2Run> = W2::new(2, 3).collect();
        assert_eq!(a, b);
        let order: Vec<(usize, usize)> = a.iter().map(|r| (r.experiment, r.index)).collect();
        assert_eq!(order, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        let full = W2::new(W2_EXPERIMENTS, W2_RUNS_PER_EXPERIMENT);
        assert_eq!(full.len(), 10_000);
        for run in &a {
            assert_eq!(full.run(run.experiment, run.index), *run);
        }
        assert_eq!(a[4].series(0), b[4].series(0));
        assert_ne!(W2::with_seed(2, 3, 7).next(), a.first().cloned());
        assert_eq!(W2::new(0, 5).next(), None);
        assert_eq!(W2::new(5, 0).next(), None);
    }

    #[test]
    fn w2_params_and_tags_have_the_documented_shape() {
        let lrs: Vec<&str> = W2_LRS.iter().map(|(_, text)| *text).collect();
        for run in W2::new(2, 200) {
            let keys: Vec<&str> = run.params.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys.len(), 20);
            assert_eq!(keys[..4], ["lr", "batch_size", "optimizer", "seed"]);
            let mut unique = keys.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 20, "{keys:?}");
            assert!(lrs.contains(&run.params[0].1.as_str()));
            let batch_size: u32 = run.params[1].1.parse().unwrap_or(0);
            assert!(W2_BATCH_SIZES.contains(&batch_size));
            assert!(W2_OPTIMIZERS.contains(&run.params[2].1.as_str()));
            assert!(run.params[3].1.parse::<u32>().is_ok());
            for (key, value) in &run.params[4..] {
                assert!(
                    (5..=40).contains(&value.chars().count()),
                    "{key} = {value:?}"
                );
            }
            assert_eq!(run.tags.len(), 5);
            assert_eq!(run.tags[0], ("mlflow.runName".to_owned(), run.name.clone()));
            assert_eq!(run.tags[3].1.len(), 40, "a git commit is 40 hex digits");
            assert_eq!(run.tags[4].1, W2::experiment_name(run.experiment));
        }
        // Python's str() of the four learning rates, which MLflow logs as the param.
        assert_eq!(lrs, ["0.0001", "0.0003", "0.001", "0.003"]);
    }

    #[test]
    fn w2_statuses_and_hyperparameters_follow_the_distributions() {
        let runs: Vec<W2Run> = W2::new(W2_EXPERIMENTS, W2_RUNS_PER_EXPERIMENT).collect();
        let share = |f: &dyn Fn(&W2Run) -> bool| {
            runs.iter().filter(|r| f(r)).count() as f64 / runs.len() as f64
        };
        let finished = share(&|r| r.status == W2Status::Finished);
        let failed = share(&|r| r.status == W2Status::Failed);
        let running = share(&|r| r.status == W2Status::Running);
        assert!((0.88..0.92).contains(&finished), "{finished}");
        assert!((0.06..0.08).contains(&failed), "{failed}");
        assert!((0.02..0.04).contains(&running), "{running}");
        for optimizer in W2_OPTIMIZERS {
            let s = share(&|r| r.param("optimizer") == Some(optimizer));
            assert!((0.31..0.36).contains(&s), "{optimizer}: {s}");
        }
        for (_, lr) in W2_LRS {
            let s = share(&|r| r.param("lr") == Some(lr));
            assert!((0.23..0.27).contains(&s), "{lr}: {s}");
        }
        for batch_size in W2_BATCH_SIZES {
            let text = batch_size.to_string();
            let s = share(&|r| r.param("batch_size") == Some(text.as_str()));
            assert!((0.18..0.22).contains(&s), "{batch_size}: {s}");
        }
        for run in &runs {
            assert_eq!(run.end_time_ms.is_none(), run.status == W2Status::Running);
        }
    }

    #[test]
    fn q6_selects_a_few_hundred_of_the_ten_thousand_runs() {
        // `metrics.val/acc > 0.9 and params.optimizer = 'adam'` over the latest values.
        let runs = W2::new(W2_EXPERIMENTS, W2_RUNS_PER_EXPERIMENT);
        let selected = runs
            .filter(|r| r.param("optimizer") == Some("adam") && r.latest(3).2 > 0.9)
            .count();
        // Pinned: a change here changes what Q6 measures.
        assert_eq!(selected, 242);
    }

    #[test]
    fn w2_series_are_columns_of_plausible_curves() {
        for run in W2::new(3, 4) {
            let metrics = run.metrics();
            for (key, series) in metrics.iter().enumerate() {
                assert_eq!(series.key, W2_METRICS[key]);
                let steps: Vec<i64> = (0..W2_STEPS as i64).collect();
                assert_eq!(series.steps, steps);
                assert_eq!(series.timestamps_ms.len(), steps.len());
                assert!(series.timestamps_ms[0] >= run.start_time_ms);
                // The clock only goes back by the 0-2 ms of jitter.
                assert!(series.timestamps_ms.windows(2).all(|w| w[1] >= w[0] - 2));
                assert!(series.values.iter().all(|v| (*v as f32) as f64 == *v));
                let last = series.values.len() - 1;
                assert_eq!(
                    run.latest(key),
                    (last as i64, series.timestamps_ms[last], series.values[last])
                );
                if let Some(end) = run.end_time_ms {
                    assert!(end > series.timestamps_ms[last]);
                }
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            for acc in [&metrics[1].values, &metrics[3].values] {
                assert!(acc.iter().all(|v| (0.0..=1.0).contains(v)));
                assert!(mean(&acc[900..]) > mean(&acc[..100]) + 0.2);
            }
            for loss in [&metrics[0].values, &metrics[2].values] {
                assert!(loss.iter().all(|v| *v > 0.0));
                assert!(mean(&loss[900..]) < mean(&loss[..100]) - 0.5);
            }
            let lr: f64 = run.param("lr").and_then(|v| v.parse().ok()).unwrap_or(0.0);
            assert_eq!(metrics[4].values[0], (lr as f32) as f64);
            assert!(metrics[4].values.windows(2).all(|w| w[1] <= w[0]));
        }
    }
}
