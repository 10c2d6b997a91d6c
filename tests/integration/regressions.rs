//! Each fuzz finding becomes a named test.

/// `fuzz/regressions/block_decoder-huge-count-alloc-min`: a block header claiming u32::MAX
/// points with three width-0 columns made the decoder try to allocate 32 GiB and abort.
#[test]
fn a_block_claiming_four_billion_points_is_rejected_without_allocating() {
    let input = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions/block_decoder-huge-count-alloc-min"),
    )
    .unwrap();
    let e = runlog::metrics::fuzzing::decode_block(&input).unwrap_err();
    assert!(e.what.contains("point count"), "{e}");
    let found = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions/block_decoder-huge-count-alloc"),
    )
    .unwrap();
    assert!(runlog::metrics::fuzzing::decode_block(&found).is_err());
}

#[test]
fn a_writer_refuses_blocks_larger_than_the_decoder_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let store = runlog::MetricStore::open(tmp.path()).unwrap();
    let opts = runlog::WriterOptions {
        block_points: runlog::metrics::MAX_BLOCK_POINTS + 1,
        ..Default::default()
    };
    let e = store.writer("r", opts).unwrap_err();
    assert!(
        e.to_string()
            .contains("block_points must be between 1 and 65536"),
        "{e}"
    );
}
