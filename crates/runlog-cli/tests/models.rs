//! `runlog models` and `runlog model NAME`, end to end on a small store.

mod fixture;

use fixture::{build, golden, normalise_times};

#[test]
fn models_and_one_model() {
    let f = build();
    // Registry times are when the test ran.
    golden("models.txt", &normalise_times(&f.ok(&["models"])));
    golden(
        "models.json",
        &normalise_times(&f.ok(&["--format", "json", "models"])),
    );
    golden(
        "model.txt",
        &normalise_times(&f.ok(&["model", "classifier"])),
    );
    golden(
        "model.json",
        &normalise_times(&f.ok(&["--format", "json", "model", "classifier"])),
    );
    golden(
        "model.csv",
        &normalise_times(&f.ok(&["--format", "csv", "model", "classifier"])),
    );
}

#[test]
fn unknown_model_suggests() {
    let f = build();
    let err = f.fails(&["model", "clasifier"]);
    assert!(err.contains("no registered model \"clasifier\""), "{err}");
    assert!(err.contains("did you mean \"classifier\""), "{err}");
}
