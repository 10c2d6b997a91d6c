//! The reference workloads of `WORKLOADS.md`, generated from a seeded SplitMix64 so that every
//! benchmark, on every machine, measures the same data.
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

impl SplitMix64 {
    /// A generator with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
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
}
