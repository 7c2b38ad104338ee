//! A transparency-portal page holds its Public Search Audit as a CSV inside the page, in a
//! `data:` URI (the download link's `href`). This finds every such URI in a page and
//! decodes it, base64 or percent-encoded, after undoing the HTML escapes an attribute
//! value carries (`&amp;`, `&quot;`, `&#39;`).
use base64::Engine as _;

/// Whether bytes look like an HTML page rather than a CSV: a page starts with a tag
/// (`<!DOCTYPE html>`, `<html>`), a CSV header never does.
pub fn is_html(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    body.trim_ascii_start().first() == Some(&b'<')
}

/// Every CSV embedded in the page as a `data:text/csv` URI, decoded, in page order.
pub fn embedded_csvs(page: &str) -> Result<Vec<Vec<u8>>, String> {
    let lower = page.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("data:text/csv") {
        let start = from + at;
        let end = uri_end(page, start);
        out.push(decode_data_uri(&unescape_html(&page[start..end]))?);
        from = end.max(start + 1);
    }
    Ok(out)
}

/// Where the URI starting at `start` ends: at the quote that opened the attribute (the
/// character before it), or at whitespace or `>` when it is unquoted.
fn uri_end(page: &str, start: usize) -> usize {
    let quote = page[..start]
        .chars()
        .next_back()
        .filter(|c| matches!(c, '"' | '\''));
    let rest = &page[start..];
    let stop = match quote {
        Some(q) => rest.find(q),
        None => rest.find(|c: char| c.is_whitespace() || c == '>'),
    };
    start + stop.unwrap_or(rest.len())
}

/// The bytes of a `data:[type][;params][;base64],payload` URI.
pub fn decode_data_uri(uri: &str) -> Result<Vec<u8>, String> {
    let (meta, payload) = uri
        .split_once(',')
        .ok_or("a data: URI with no comma before its data")?;
    if meta.to_ascii_lowercase().ends_with(";base64") {
        let clean: String = percent_decode(payload)
            .into_iter()
            .map(char::from)
            .filter(|c| !c.is_whitespace())
            .collect();
        return base64::engine::general_purpose::STANDARD
            .decode(clean.as_bytes())
            .map_err(|e| format!("the embedded CSV's base64 does not decode: {e}"));
    }
    Ok(percent_decode(payload))
}

fn percent_decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
}

/// Undoes the character references an attribute value may hold.
fn unescape_html(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(semi) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        match reference(&rest[1..semi]) {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "lt" => Some('<'),
        "gt" => Some('>'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoded_and_base64_uris_decode_with_html_escapes_undone() {
        let csv = "\"id\",\"reason\"\n\"a1\",\"Theft & fraud\"\n";
        let pct = format!(
            "<a href=\"data:text/csv;charset=utf-8,{}\" download>CSV</a>",
            percent_encoding::utf8_percent_encode(csv, percent_encoding::NON_ALPHANUMERIC)
        );
        assert_eq!(embedded_csvs(&pct).unwrap(), vec![csv.as_bytes().to_vec()]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(csv);
        let page = format!("<html><a href='data:text/csv;base64,{b64}'>x</a></html>");
        assert_eq!(embedded_csvs(&page).unwrap(), vec![csv.as_bytes().to_vec()]);
        let raw = "<a href=\"data:text/csv,id,reason%0Aa1,Theft &amp; fraud\">";
        assert_eq!(
            embedded_csvs(raw).unwrap(),
            vec![b"id,reason\na1,Theft & fraud".to_vec()]
        );
    }

    #[test]
    fn pages_are_told_from_csvs_by_their_first_tag() {
        assert!(is_html(b"\xef\xbb\xbf  <!DOCTYPE html><html>"));
        assert!(is_html(b"\n<html lang=en>"));
        assert!(!is_html(b"\"id\",\"userId\",\"searchDate\"\n"));
        assert!(!is_html(b"ID,Name,Org Name\n"));
    }

    #[test]
    fn a_page_without_an_embedded_csv_yields_none() {
        assert!(embedded_csvs("<html><body>No audit</body></html>")
            .unwrap()
            .is_empty());
    }
}
