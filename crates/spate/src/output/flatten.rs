//! Object results as rows: their top-level members as named cells.

use spate_json::{Flow, Handler, Member, ScanOptions, Scanner, Watch};

/// The top-level members of an object result as (name, cell text); a result that is not an
/// object (or not valid JSON) is one member named `value`. Cells: strings unquoted, `null`
/// empty, other values as their JSON text.
pub fn flatten(json: &[u8]) -> Vec<(String, String)> {
    let mut members = Members::default();
    let mut scanner = Scanner::new(ScanOptions::default());
    let ok = scanner.scan(json, &mut members).is_ok() && scanner.finish(&mut members).is_ok();
    if !ok || !members.object {
        return vec![("value".to_owned(), cell(json))];
    }
    members
        .spans
        .into_iter()
        .map(|span| {
            let name = unescape(&span.key)
                .unwrap_or_else(|| String::from_utf8_lossy(&span.key).into_owned());
            (name, cell(&json[span.start..span.end]))
        })
        .collect()
}

/// A JSON value as a cell: strings unquoted, null empty, anything else as its JSON text.
pub fn cell(value: &[u8]) -> String {
    match value.first() {
        Some(b'"') => serde_json::from_slice::<String>(value)
            .unwrap_or_else(|_| String::from_utf8_lossy(value).into_owned()),
        _ if value == b"null" => String::new(),
        _ => String::from_utf8_lossy(value).into_owned(),
    }
}

/// The text of a key's escaped bytes.
fn unescape(key: &[u8]) -> Option<String> {
    if !key.contains(&b'\\') {
        return std::str::from_utf8(key).ok().map(str::to_owned);
    }
    serde_json::from_slice::<String>(&[b"\"", key, b"\""].concat()).ok()
}

/// Where a member of the top-level object is.
struct MemberSpan {
    key: Vec<u8>,
    start: usize,
    end: usize,
}

/// Collects the member names and value spans of a top-level object.
#[derive(Default)]
struct Members {
    object: bool,
    spans: Vec<MemberSpan>,
}

impl Handler for Members {
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch {
        match (depth, member) {
            (0, _) => {
                self.object = container && member == Member::Root;
                Watch::Children
            }
            (1, Member::Key(key)) => {
                self.spans.push(MemberSpan {
                    key: key.to_vec(),
                    start: offset as usize,
                    end: offset as usize,
                });
                Watch::Quiet
            }
            _ => {
                self.object = false;
                Watch::Quiet
            }
        }
    }

    fn end(&mut self, depth: u32, end: u64) -> Flow {
        if depth == 1 {
            if let Some(last) = self.spans.last_mut() {
                last.end = end as usize;
            }
        }
        Flow::Continue
    }
}
