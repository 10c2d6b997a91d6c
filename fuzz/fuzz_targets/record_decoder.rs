//! Arbitrary bytes into the record reader and the segment scanner (`fuzzing::read_record`,
//! `fuzzing::scan_segment`). Neither may panic, and both must agree with a small reference
//! model of the record framing (`len u32 | crc32 u32 | kind u8 | payload`) and of what the
//! scanner accepts (`runlog_fuzz::model_framing`, `runlog_fuzz::model_scan`).
//!
//! Each input is tried three ways:
//! 1. as given: `read_record(data)` and `scan_segment(data)` (exercises the header checks: a
//!    valid header or a torn prefix of one must be accepted, anything else refused);
//! 2. behind a valid 16-byte segment header, so the scanner reaches the records;
//! 3. the same with every record's CRC rewritten to be correct, so the scanner gets past the
//!    checksums into the series and block-header parsers, which random bytes almost never reach.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runlog_fuzz::{SEGMENT_HEADER, check_read_record, fix_record_crcs, model_scan};
use runlog_metrics::fuzzing::{read_record, scan_segment};

fn check_record(buf: &[u8]) {
    let got = read_record(buf);
    check_read_record(buf, got);
    if let Some((_, len)) = got {
        assert!(9 + len <= buf.len(), "record larger than its buffer");
    }
}

/// Scans a segment image that starts with a valid header; checks the answer against the model.
fn check_scan(image: &[u8]) {
    let valid = scan_segment(image)
        .unwrap_or_else(|e| panic!("a segment with a valid header was refused: {e}"));
    let want = model_scan(image);
    assert!(
        want.contains(&valid),
        "scan_segment says {valid} bytes are valid, the model {want:?}"
    );
}

fn check_scan_with_header(body: &[u8]) {
    let mut image = Vec::with_capacity(SEGMENT_HEADER.len() + body.len());
    image.extend_from_slice(&SEGMENT_HEADER);
    image.extend_from_slice(body);
    check_scan(&image);
}

fuzz_target!(|data: &[u8]| {
    // 1. As given.
    check_record(data);
    if data.starts_with(&SEGMENT_HEADER) {
        check_scan(data);
    } else if SEGMENT_HEADER.starts_with(data) {
        // A header torn by a crash (or an empty file): nothing valid yet, but not an error.
        assert_eq!(scan_segment(data), Ok(0), "torn header");
    } else {
        assert!(
            scan_segment(data).is_err(),
            "a segment with a bad header was accepted"
        );
    }

    // 2. Behind a valid segment header.
    check_scan_with_header(data);

    // 3. With correct record CRCs.
    let mut fixed = data.to_vec();
    fix_record_crcs(&mut fixed);
    check_record(&fixed);
    check_scan_with_header(&fixed);
});
