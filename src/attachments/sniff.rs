//! What a file is, from its first bytes: the allow-list of attachment types, decided by
//! magic numbers (the `infer` crate) and, for text, by the bytes themselves. The name
//! and the declared type never decide: HTML named `.png` is HTML, and refused.

/// How many leading bytes the decision reads.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// The types an attachment may have, served with exactly this `Content-Type`.
pub const ALLOWED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "text/plain",
];

/// The checked type of a file whose first bytes are `head` (at most [`SNIFF_BYTES`];
/// the whole file when shorter), or `None` when it is not on the allow-list.
pub fn content_type(head: &[u8]) -> Option<&'static str> {
    if let Some(kind) = infer::get(head) {
        return ALLOWED.iter().copied().find(|t| *t == kind.mime_type());
    }
    is_plain_text(head).then_some("text/plain")
}

/// Whether an image type may be shown inline in the portal (never text or PDF).
pub fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// UTF-8 text (a log, a CSV, JSON) without NUL or other control characters but tabs
/// and line ends, and without markup a browser would render: HTML, XML and SVG are
/// refused even as text. The last character may be cut by the sniff window.
fn is_plain_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            // A multi-byte character cut by the window's end.
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
    {
        return false;
    }
    let start = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    let markup = [
        "<!doctype",
        "<html",
        "<head",
        "<body",
        "<script",
        "<svg",
        "<?xml",
        "<iframe",
        "<!--",
    ];
    !(markup.iter().any(|m| start.starts_with(m))
        || infer::text::is_html(head)
        || infer::text::is_xml(head)
        || contains_ignore_case(text, "<script"))
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack.to_ascii_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_decide_not_the_name() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        assert_eq!(content_type(png), Some("image/png"));
        assert_eq!(
            content_type(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
            Some("application/pdf")
        );
        assert_eq!(
            content_type(b"2026-12-06 ERROR export failed\n"),
            Some("text/plain")
        );
        assert_eq!(content_type("prix: 12 €\n".as_bytes()), Some("text/plain"));
        for html in [
            &b"<!DOCTYPE html><html><script>alert(1)</script>"[..],
            b"  <html><body>hi</body></html>",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            b"<?xml version='1.0'?><x/>",
            b"hello <script>alert(1)</script>",
        ] {
            assert_eq!(
                content_type(html),
                None,
                "{}",
                String::from_utf8_lossy(html)
            );
        }
        // An executable, a NUL-laden blob, nothing at all.
        assert_eq!(content_type(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff"), None);
        assert_eq!(content_type(b"a\0b\0c"), None);
        assert_eq!(content_type(b""), None);
        // A character cut by the sniff window is still text.
        let cut = "é".repeat(10);
        assert_eq!(
            content_type(&cut.as_bytes()[..cut.len() - 1]),
            Some("text/plain")
        );
    }
}
