//! Prints `<bits> <python repr>` for N generated doubles, to diff against CPython:
//! `cargo run --release -p runlog-mlflow --example float_dump -- 2000000 > rust.txt`, then
//! compare each line with `repr(struct.unpack('>d', bytes.fromhex(bits))[0])`.
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut x: u64 = 0x1234_5678_9ABC_DEF1;
    let mut out = String::new();
    for i in 0..n {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Random bit patterns, short decimals, and values with few significant bits (where
        // exact decimal midpoints live).
        let v = match i % 4 {
            0 => f64::from_bits(z),
            1 => (z % 1_000_000) as f64 / 1000.0,
            2 => (z % 100_000_000_000_000_000) as f64 / 4.0,
            _ => (z >> 11) as f64 * 2f64.powi((z % 80) as i32 - 40),
        };
        out.push_str(&format!("{:016x} ", v.to_bits()));
        runlog_mlflow::write_python_float(&mut out, v);
        out.push('\n');
    }
    print!("{out}");
}
