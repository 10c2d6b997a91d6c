//! Run artifacts (files a run produces: checkpoints, plots, reports) in a local folder, with
//! the semantics of MLflow's `LocalArtifactRepository`.
//!
//! ```
//! use runlog_artifacts::{ArtifactRepo, FileInfo};
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let src = tmp.path().join("out");
//! std::fs::create_dir_all(src.join("plots/empty")).unwrap();
//! std::fs::write(src.join("plots/loss.svg"), "<svg/>").unwrap();
//! std::fs::write(tmp.path().join("model.bin"), [1, 2, 3]).unwrap();
//!
//! let repo = ArtifactRepo::from_uri(&format!("file://{}/artifacts", tmp.path().display()))?;
//! repo.log_artifact(tmp.path().join("model.bin"), Some("model"))?;   // model/model.bin
//! repo.log_artifacts(&src, None)?;                                    // plots/…, empty folders too
//! repo.log_text("lr=0.001\n", "notes/config.txt")?;
//!
//! let top = repo.list_artifacts(None)?;                               // one level, sorted by path
//! assert_eq!(top.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["model", "notes", "plots"]);
//! assert_eq!(repo.list_artifacts(Some("model"))?,
//!            [FileInfo { path: "model/model.bin".into(), is_dir: false, file_size: Some(3) }]);
//! assert_eq!(repo.read("notes/config.txt")?, b"lr=0.001\n");
//!
//! let dst = tempfile::tempdir().unwrap();
//! let got = repo.download("plots", dst.path())?;                      // dst/plots/…
//! assert!(got.join("empty").is_dir());
//!
//! // Paths leaving the artifact root are refused, naming the path.
//! let err = repo.read("../artifacts/model/model.bin").unwrap_err();
//! assert!(err.to_string().contains("\"../artifacts/model/model.bin\""));
//! # Ok::<(), runlog_artifacts::ArtifactError>(())
//! ```
//!
//! Every file is written through a temporary file in its destination folder: streamed
//! through a fixed 1 MiB buffer, checksummed (CRC-32) while copying, synced, read back and
//! compared, then renamed over its final name and the folder synced. A file under its final
//! name is therefore always complete, whatever its size, and a failed copy leaves nothing
//! visible.

mod copy;
mod error;
mod path;
mod repo;
mod tree;

pub use error::{ArtifactError, Result};
pub use repo::{ArtifactRepo, FileInfo};
