//! Writing a validated JSON value without insignificant whitespace.
//!
//! Everything else is kept byte for byte: numbers' exact text, string escapes, key order.

/// Appends `value` (valid JSON) to `out` with the whitespace outside strings removed.
pub fn compact_into(value: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    let n = value.len();
    while i < n {
        // Outside strings: copy up to the next quote or whitespace byte.
        let start = i;
        while i < n && !matches!(value[i], b'"' | b' ' | b'\n' | b'\r' | b'\t') {
            i += 1;
        }
        out.extend_from_slice(&value[start..i]);
        if i == n {
            break;
        }
        if value[i] != b'"' {
            i += 1;
            continue;
        }
        // A string: copy through its closing quote, stepping over escaped characters.
        let start = i;
        i += 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &value[i..]) {
                None => {
                    i = n;
                    break;
                }
                Some(k) if value[i + k] == b'\\' => i += k + 2,
                Some(k) => {
                    i += k + 1;
                    break;
                }
            }
        }
        let end = i.min(n);
        out.extend_from_slice(&value[start..end]);
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_insignificant_whitespace() {
        let mut out = Vec::new();
        compact_into(
            b"{ \"a b\" : [ 1 ,\n\t2.50e+3 ] , \"c\\\" d\": \"x\\\\\" }",
            &mut out,
        );
        assert_eq!(out, b"{\"a b\":[1,2.50e+3],\"c\\\" d\":\"x\\\\\"}");
    }
}
