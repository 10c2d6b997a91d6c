//! Artifact paths and artifact-root URIs.
//!
//! An artifact path is relative to the run's artifact root, `/`-separated, as in MLflow. Every
//! path is refused when it is absolute, has a `..` component or holds a NUL byte. A path that
//! says where to *write* must also be normalised (MLflow's `verify_artifact_path`: no empty or
//! `.` components, no trailing `/`, not starting with `..`); a path to *read* is normalised
//! first, as MLflow's `os.path.normpath` does (`reports/` and `./reports` are `reports`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use crate::error::{ArtifactError, Result};

/// The checks every artifact path gets.
fn check_common(path: &str) -> Result<()> {
    if path.contains('\0') {
        return Err(ArtifactError::invalid(path, "it contains a NUL byte"));
    }
    if path.starts_with('/') {
        return Err(ArtifactError::invalid(
            path,
            "it is absolute; artifact paths are relative to the run's artifact root",
        ));
    }
    if path.split('/').any(|c| c == "..") {
        return Err(ArtifactError::invalid(
            path,
            "it has a `..` component, which would leave the run's artifact root",
        ));
    }
    Ok(())
}

/// Python's `posixpath.normpath` of a relative path without `..`: empty and `.` components
/// dropped; `""` for the root.
fn normalise(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    parts.join("/")
}

/// A path to read (list, open, download): normalised; `""` is the artifact root.
pub(crate) fn read_path(path: &str) -> Result<String> {
    check_common(path)?;
    Ok(normalise(path))
}

/// A folder to write into (`artifact_path` of `log_artifact(s)`): `None` or `""` is the root;
/// otherwise MLflow's `verify_artifact_path`: the path must already be normalised.
pub(crate) fn write_dir(path: Option<&str>) -> Result<String> {
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return Ok(String::new());
    };
    check_common(path)?;
    let norm = normalise(path);
    if norm.is_empty() {
        return Err(ArtifactError::invalid(
            path,
            "it names the artifact root itself; pass no artifact path for the root",
        ));
    }
    if norm != path {
        return Err(ArtifactError::invalid(
            path,
            format!(
                "it is not normalised (it would resolve to {norm:?}); write it without empty \
                 or `.` components and without a trailing `/`"
            ),
        ));
    }
    if norm.starts_with("..") {
        // MLflow's `path_not_unique` refuses every path starting with `..`, `..foo` included.
        return Err(ArtifactError::invalid(
            path,
            "it starts with `..`, which MLflow refuses",
        ));
    }
    Ok(norm)
}

/// A file to write (`log_text`, `copy_from_reader`): normalised as MLflow's `log_text` does,
/// then split into its folder (checked as [`write_dir`]) and its file name.
pub(crate) fn write_file(path: &str) -> Result<(String, String)> {
    check_common(path)?;
    let norm = normalise(path);
    let (dir, name) = match norm.rsplit_once('/') {
        Some((d, n)) => (d.to_string(), n.to_string()),
        None => (String::new(), norm.clone()),
    };
    if name.is_empty() {
        return Err(ArtifactError::invalid(path, "it names no file"));
    }
    if norm.starts_with("..") {
        return Err(ArtifactError::invalid(
            path,
            "it starts with `..`, which MLflow refuses",
        ));
    }
    Ok((dir, name))
}

/// The local folder an artifact root URI names: a `file:` URI (host empty or `localhost`,
/// percent-escapes decoded, as MLflow's `local_file_uri_to_path`) or a plain path. Other
/// schemes (`s3://`, `gs://`, …) are refused.
pub(crate) fn uri_to_path(uri: &str) -> Result<PathBuf> {
    let unsupported = |why| ArtifactError::UnsupportedUri {
        uri: uri.to_string(),
        why,
    };
    if uri.is_empty() {
        return Err(unsupported("it is empty"));
    }
    if uri.contains('\0') {
        return Err(unsupported("it contains a NUL byte"));
    }
    let Some(rest) = strip_scheme(uri, "file") else {
        if scheme(uri).is_some() {
            return Err(unsupported("its scheme is not file"));
        }
        return Ok(PathBuf::from(uri));
    };
    let path = match rest.strip_prefix("//") {
        Some(after) => {
            let (host, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
                return Err(unsupported("it names another host"));
            }
            path
        }
        None => rest,
    };
    if path.is_empty() {
        return Err(unsupported("it names no folder"));
    }
    // Python's `unquote_to_bytes`: `%XX` becomes the byte, malformed escapes stay as they are.
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    if bytes.contains(&0) {
        return Err(unsupported("it contains a NUL byte"));
    }
    Ok(PathBuf::from(OsString::from_vec(bytes)))
}

/// The URI's scheme (`[A-Za-z][A-Za-z0-9+.-]*:`), if it has one.
fn scheme(uri: &str) -> Option<&str> {
    let (s, _) = uri.split_once(':')?;
    let mut chars = s.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(s)
}

fn strip_scheme<'a>(uri: &'a str, want: &str) -> Option<&'a str> {
    let s = scheme(uri)?;
    s.eq_ignore_ascii_case(want).then(|| &uri[s.len() + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_are_refused_everywhere() {
        for p in ["../x", "a/../b", "a/..", "/etc/passwd", "a\0b", "..", "/"] {
            assert!(read_path(p).is_err(), "read {p:?}");
            assert!(write_dir(Some(p)).is_err(), "write dir {p:?}");
            assert!(write_file(p).is_err(), "write file {p:?}");
            let msg = read_path(p).unwrap_err().to_string();
            assert!(msg.contains(&format!("{p:?}")), "{msg}");
        }
    }

    #[test]
    fn reads_are_normalised_like_posixpath_normpath() {
        assert_eq!(read_path("").unwrap(), "");
        assert_eq!(read_path(".").unwrap(), "");
        assert_eq!(read_path("reports/").unwrap(), "reports");
        assert_eq!(read_path("./reports//sub/.").unwrap(), "reports/sub");
        assert_eq!(read_path("..foo/a..b").unwrap(), "..foo/a..b");
    }

    #[test]
    fn write_folders_must_be_normalised_as_mlflow_verify_artifact_path_wants() {
        assert_eq!(write_dir(None).unwrap(), "");
        assert_eq!(write_dir(Some("")).unwrap(), "");
        assert_eq!(write_dir(Some("a/b c/ü")).unwrap(), "a/b c/ü");
        assert_eq!(write_dir(Some("a/..b")).unwrap(), "a/..b");
        for p in ["a//b", "a/", "./a", "a/./b", ".", "..foo"] {
            let e = write_dir(Some(p)).unwrap_err().to_string();
            assert!(e.contains(&format!("{p:?}")), "{e}");
        }
    }

    #[test]
    fn files_to_write_are_split_into_folder_and_name() {
        assert_eq!(write_file("a.txt").unwrap(), ("".into(), "a.txt".into()));
        assert_eq!(
            write_file("d/e/a.txt").unwrap(),
            ("d/e".into(), "a.txt".into())
        );
        assert_eq!(
            write_file("d//a.txt").unwrap(),
            ("d".into(), "a.txt".into())
        );
        for p in ["", ".", "./", "..x/a"] {
            assert!(write_file(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn file_uris_and_paths_become_folders() {
        assert_eq!(uri_to_path("file:///a/b").unwrap(), PathBuf::from("/a/b"));
        assert_eq!(
            uri_to_path("file://localhost/a/b").unwrap(),
            PathBuf::from("/a/b")
        );
        assert_eq!(uri_to_path("file:/a/b").unwrap(), PathBuf::from("/a/b"));
        assert_eq!(
            uri_to_path("file:///data/m%C3%BC%20x/%zz").unwrap(),
            PathBuf::from("/data/mü x/%zz")
        );
        assert_eq!(
            uri_to_path("/plain/path").unwrap(),
            PathBuf::from("/plain/path")
        );
        assert_eq!(uri_to_path("rel/path").unwrap(), PathBuf::from("rel/path"));
        for bad in [
            "s3://bucket/x",
            "file://otherhost/x",
            "",
            "file://",
            "file:///a%00b",
        ] {
            let e = uri_to_path(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
