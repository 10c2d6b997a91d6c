//! Page tokens: base64 of the JSON `{"offset": N}`, byte for byte what MLflow issues.
//!
//! MLflow's `SearchUtils.create_page_token` is `base64.b64encode(json.dumps({"offset": N}))`,
//! so the token for offset 7 is `eyJvZmZzZXQiOiA3fQ==`. Tokens from MLflow and from this crate
//! are interchangeable. Decoding accepts what `parse_start_offset_from_page_token` accepts for
//! tokens of that shape: base64 with characters outside the alphabet ignored, then a JSON
//! object whose `offset` is a positive integer (or a string holding one). An offset of 0 is
//! rejected, as MLflow rejects it (it tests the offset for truthiness).

use crate::error::{ErrorKind, SearchError};

/// The standard base64 alphabet.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The page token that resumes a search at `offset`.
pub fn encode_page_token(offset: usize) -> String {
    base64_encode(format!("{{\"offset\": {offset}}}").as_bytes())
}

/// The offset a page token resumes at.
///
/// # Errors
///
/// Returns [`ErrorKind::InvalidPageToken`] for anything that is not base64 of a JSON object
/// with a positive integer `offset`.
pub fn decode_page_token(token: &str) -> Result<usize, SearchError> {
    let invalid = |what: &str| {
        SearchError::new(
            ErrorKind::InvalidPageToken,
            None,
            format!("Invalid page token, {what}: '{token}'"),
        )
    };
    let bytes = base64_decode(token).ok_or_else(|| invalid("could not base64-decode"))?;
    let json = std::str::from_utf8(&bytes).map_err(|_| invalid("decoded value is not UTF-8"))?;
    let offset = json_offset(json).ok_or_else(|| invalid("expected {\"offset\": N} with N > 0"))?;
    if offset == 0 {
        return Err(invalid("the offset must be greater than 0"));
    }
    Ok(offset)
}

/// The shared tail of `search_runs` and `search_experiments`: keeps the `items` that pass
/// `keep` (as they are read), sorts them with `sort`, and returns the `max_results` items from
/// the offset in `page_token` (no token, or MLflow's empty token, starts at 0) with the token
/// for the next page when more items remain (`SearchUtils.paginate`: an exact multiple of the
/// page size ends without an empty page).
pub(crate) fn select_page<R>(
    items: impl IntoIterator<Item = R>,
    keep: impl FnMut(&R) -> bool,
    sort: impl FnOnce(&mut [R]),
    max_results: usize,
    page_token: Option<&str>,
) -> Result<(Vec<R>, Option<String>), SearchError> {
    let offset = match page_token {
        None | Some("") => 0,
        Some(token) => decode_page_token(token)?,
    };
    let mut selected: Vec<R> = items.into_iter().filter(keep).collect();
    sort(&mut selected);
    let end = offset.saturating_add(max_results);
    let next_page_token = (end < selected.len()).then(|| encode_page_token(end));
    let page = selected
        .into_iter()
        .skip(offset)
        .take(max_results)
        .collect();
    Ok((page, next_page_token))
}

/// Standard base64 with padding.
fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 decoding like Python's non-strict `b64decode`: characters outside the alphabet are
/// skipped, decoding stops at padding, and a missing or impossible padding is an error.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut count = 0usize;
    let mut padding = 0usize;
    for &c in text.as_bytes() {
        if c == b'=' {
            padding += 1;
            continue;
        }
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            continue;
        };
        if padding > 0 {
            // Data after padding: Python stops at the padding that completes the quantum.
            break;
        }
        acc = (acc << 6) | v as u32;
        count += 1;
        if count.is_multiple_of(4) {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
        }
    }
    match count % 4 {
        0 => Some(out),
        2 if padding >= 2 => {
            out.push((acc >> 4) as u8);
            Some(out)
        }
        3 if padding >= 1 => {
            out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]);
            Some(out)
        }
        _ => None,
    }
}

/// Reads the `offset` member of a flat JSON object such as `{"offset": 7}`.
fn json_offset(json: &str) -> Option<usize> {
    let body = json.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut found = None;
    for member in body.split(',') {
        let (key, value) = member.split_once(':')?;
        let key = key.trim().strip_prefix('"')?.strip_suffix('"')?;
        if key == "offset" {
            let value = value.trim();
            let digits = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map_or(value, str::trim);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            found = Some(digits.parse::<usize>().ok()?);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_mlflow() {
        assert_eq!(encode_page_token(7), "eyJvZmZzZXQiOiA3fQ==");
        assert_eq!(encode_page_token(1000), "eyJvZmZzZXQiOiAxMDAwfQ==");
        for offset in [1, 7, 12, 100, 1234, 50_000, usize::MAX] {
            assert_eq!(decode_page_token(&encode_page_token(offset)), Ok(offset));
        }
    }

    #[test]
    fn lenient_like_python() {
        assert_eq!(decode_page_token("eyJvZmZz\nZXQiOiA3fQ=="), Ok(7));
        assert_eq!(
            decode_page_token(&base64_encode(b"{\"offset\": \"5\"}")),
            Ok(5)
        );
        assert_eq!(
            decode_page_token(&base64_encode(b" {\"a\": 1, \"offset\":9} ")),
            Ok(9)
        );
    }

    #[test]
    fn rejected_tokens() {
        for bad in [
            "",
            "!!!",
            "eyJvZmZzZXQiOiA3fQ",
            "bm90IGpzb24=",
            &encode_page_token(0),
        ] {
            assert!(decode_page_token(bad).is_err(), "{bad}");
        }
        assert!(decode_page_token(&base64_encode(b"{\"offset\": -3}")).is_err());
        assert!(decode_page_token(&base64_encode(b"{\"offset\": 1.5}")).is_err());
        assert!(decode_page_token(&base64_encode(b"[7]")).is_err());
    }
}
