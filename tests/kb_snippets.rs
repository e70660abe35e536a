//! Snippet windows over text with multi-byte characters.

use helpcenter::kb::search::snippet_html;

/// A NFCorpus abstract has thin spaces (U+2009, three bytes) just before the window's
/// start: the window must start after the whole character, not inside it.
#[test]
fn a_window_starting_at_a_multibyte_space_does_not_panic() {
    for space in ["\u{2009}", "\u{a0}", "\u{3000}", " "] {
        for gap in 0..50 {
            let text = format!(
                "{}{space}{}mineral density {}",
                "x".repeat(100),
                "y".repeat(gap),
                "tail ".repeat(40)
            );
            let at = text.find("mineral").unwrap();
            let snippet = snippet_html(&text, &[(at, at + "mineral".len())]);
            assert!(snippet.contains("<mark>mineral</mark>"), "{snippet}");
        }
    }
}
