//! `helpcenter check` on fixtures: one folder per planted problem under
//! `tests/fixtures/check/`, a clean folder, and the demo articles. Most tests use the
//! library; two run the binary for its output format and exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use helpcenter::kb::check::{check_articles, CheckReport, Code, Severity};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check")
        .join(name)
}

fn check(name: &str) -> CheckReport {
    check_articles(&fixture(name)).expect("the fixture folder can be listed")
}

/// `(code, path, line)` of every diagnostic, in report order.
fn found(report: &CheckReport) -> Vec<(&'static str, &str, usize)> {
    report
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.path.as_str(), d.line))
        .collect()
}

#[test]
fn clean_fixture_has_no_diagnostics() {
    // Covers what must not be reported: same-page, cross-page, `#top`, percent-encoded
    // and `{#id}` anchors; query strings; `index.md` reaching a folder's `_index.md`;
    // slug links; external, `mailto:`, `tel:`, image, folder and MDN-style links; drafts
    // linking to drafts; an empty landing page; hidden and ignored broken files.
    let report = check("clean");
    assert_eq!(found(&report), vec![], "{report:#?}");
    assert_eq!(report.files_checked, 8);
    assert!(!report.has_errors());
}

#[test]
fn demo_articles_check_clean() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("articles");
    let report = check_articles(&demo).unwrap();
    assert_eq!(found(&report), vec![], "{}", report.to_text(&demo));
    assert!(report.files_checked > 20);
}

#[test]
fn front_matter_that_does_not_parse_names_line_column_and_expectation() {
    let report = check("invalid-front-matter");
    assert_eq!(
        found(&report),
        vec![
            ("invalid-front-matter", "toml.md", 3),
            ("invalid-front-matter", "unclosed.md", 1),
            ("invalid-front-matter", "yaml.md", 4),
        ]
    );
    let toml = &report.diagnostics[0];
    assert_eq!(toml.column, 11);
    assert!(toml.message.contains("expected `]`"), "{}", toml.message);
    let unclosed = &report.diagnostics[1];
    assert!(unclosed.message.contains("expected a line `---`"));
    let yaml = &report.diagnostics[2];
    assert!(
        yaml.message.contains("expected ',' or ']'"),
        "{}",
        yaml.message
    );
    assert!(report
        .diagnostics
        .iter()
        .all(|d| d.severity == Severity::Error));
}

#[test]
fn missing_title_is_a_warning_only_without_front_matter_title_and_h1() {
    let report = check("missing-title");
    assert_eq!(found(&report), vec![("missing-title", "no-title.md", 1)]);
    assert_eq!(report.diagnostics[0].severity, Severity::Warning);
    assert!(report.diagnostics[0].message.contains("\"No title\""));
    assert!(!report.has_errors());
}

#[test]
fn duplicate_slugs_name_both_files() {
    let report = check("duplicate-slug");
    assert_eq!(
        found(&report),
        vec![
            ("duplicate-slug", "b.md", 3),
            ("duplicate-slug", "c/_index.md", 1),
        ]
    );
    let shared = &report.diagnostics[0].message;
    assert!(
        shared.contains("a.md") && shared.contains("b.md"),
        "{shared}"
    );
    let folder = &report.diagnostics[1].message;
    assert!(
        folder.contains("c.md") && folder.contains("c/_index.md"),
        "{folder}"
    );
}

#[test]
fn a_duplicate_slug_points_at_its_first_definition_in_text_and_json() {
    let report = check("duplicate-slug");
    // Where each duplicate's slug was first defined, the way rustc notes a previous
    // definition: a.md's `slug:` line, and c.md (its slug comes from its path).
    let notes: Vec<(&str, usize)> = report
        .diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.notes.len(), 1, "{d:?}");
            (d.notes[0].path.as_str(), d.notes[0].line)
        })
        .collect();
    let a_slug_line = std::fs::read_to_string(fixture("duplicate-slug").join("a.md"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("slug:"))
        .map(|i| i + 1)
        .expect("a.md sets its slug");
    assert_eq!(notes, vec![("a.md", a_slug_line), ("c.md", 1)]);
    let text = report.to_text(std::path::Path::new("articles"));
    assert!(
        text.contains(&format!("articles/a.md:{a_slug_line}:1: note: the slug")),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["diagnostics"][0]["notes"][0]["path"], "a.md", "{json}");
    assert_eq!(
        json["diagnostics"][0]["notes"][0]["line"], a_slug_line,
        "{json}"
    );
}

#[test]
fn invalid_slug_from_front_matter_or_path() {
    let report = check("invalid-slug");
    assert_eq!(
        found(&report),
        vec![
            ("invalid-slug", "bad name.md", 1),
            ("invalid-slug", "bad-front.md", 3),
        ]
    );
    assert!(report.diagnostics[1].message.contains("' '"));
}

#[test]
fn invalid_category_from_front_matter_or_folder() {
    let report = check("invalid-category");
    assert_eq!(
        found(&report),
        vec![
            ("invalid-category", "bad#folder/x.md", 1),
            ("invalid-category", "cat.md", 3),
        ]
    );
    assert!(report.diagnostics[1].message.contains("'?'"));
}

#[test]
fn links_to_no_article_are_errors_at_the_link() {
    let report = check("broken-link");
    assert_eq!(
        found(&report),
        vec![
            ("broken-link", "from.md", 5),  // missing.md
            ("broken-link", "from.md", 6),  // /articles/nope
            ("broken-link", "from.md", 7),  // ../../outside.md
            ("broken-link", "from.md", 8),  // ignored by .helpcenterignore
            ("broken-link", "from.md", 9),  // hidden
            ("broken-link", "from.md", 11), // reference link to gone.md
            ("broken-link", "from.md", 15), // after a two-line shortcode
        ]
    );
    let messages: Vec<&str> = report
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(messages[0].contains("does not exist"), "{messages:?}");
    assert!(messages[1].contains("no article has the slug \"nope\""));
    assert!(messages[2].contains("leaves the articles folder"));
    assert!(messages[3].contains("is not an article"));
    assert!(report.diagnostics.iter().all(|d| d.column == 3));
}

#[test]
fn anchors_no_heading_defines_are_warnings_with_a_suggestion() {
    let report = check("broken-anchor");
    assert_eq!(
        found(&report),
        vec![
            ("broken-anchor", "a.md", 7),
            ("broken-anchor", "a.md", 8),
            ("broken-anchor", "a.md", 8),
        ]
    );
    let d = &report.diagnostics;
    assert_eq!(d[0].column, 22);
    assert!(d[0].message.contains("this article") && d[0].message.contains("#nowhere"));
    assert!(d[1].message.contains("b.md") && d[1].message.contains("#part-three"));
    assert_eq!(d[2].column, 35);
    assert!(
        d[2].message.contains("did you mean #part-two?"),
        "{}",
        d[2].message
    );
    assert!(d.iter().all(|d| d.severity == Severity::Warning));
}

#[test]
fn published_articles_linking_to_drafts_are_errors() {
    let report = check("link-to-draft");
    assert_eq!(
        found(&report),
        vec![
            ("link-to-draft", "published.md", 3),
            ("link-to-draft", "published.md", 3),
        ]
    );
    assert_eq!(report.diagnostics[0].column, 6);
    assert_eq!(report.diagnostics[1].column, 30);
}

#[test]
fn empty_articles_are_warnings_but_landing_pages_may_be_empty() {
    let report = check("empty-article");
    assert_eq!(
        found(&report),
        vec![
            ("empty-article", "empty.md", 4),
            ("empty-article", "leaf/index.md", 4),
            ("empty-article", "macros.md", 4),
            ("empty-article", "only-heading.md", 1),
        ]
    );
    assert!(!report.has_errors());
}

#[test]
fn a_file_that_is_not_utf8_is_an_error() {
    let report = check("unreadable-file");
    assert_eq!(found(&report), vec![("unreadable-file", "latin1.md", 1)]);
}

#[test]
fn a_search_configuration_with_mistakes_names_each_line() {
    let report = check("invalid-search-config");
    assert_eq!(
        found(&report),
        vec![
            ("invalid-search-config", "_search.toml", 3),
            ("invalid-search-config", "_search.toml", 6),
        ]
    );
    assert!(report.diagnostics[0].message.contains("at least two"));
    assert!(report.diagnostics[1].message.contains("`from` and `to`"));
    assert!(report.has_errors());
}

#[test]
fn every_code_is_planted_in_some_fixture() {
    let all: Vec<Code> = [
        "invalid-front-matter",
        "missing-title",
        "duplicate-slug",
        "invalid-slug",
        "invalid-category",
        "broken-link",
        "broken-anchor",
        "link-to-draft",
        "empty-article",
        "unreadable-file",
        "invalid-search-config",
        "unknown-audience",
        "invalid-audience",
        "invalid-folder-file",
        "link-to-restricted",
    ]
    .iter()
    .flat_map(|name| check(name).diagnostics)
    .map(|d| d.code)
    .collect();
    for code in Code::ALL {
        assert!(all.contains(&code), "no fixture plants {}", code.as_str());
    }
}

fn helpcenter() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_helpcenter"));
    cmd.env_remove("HELPCENTER_ARTICLES").env("RUST_LOG", "off");
    cmd
}

#[test]
fn cli_prints_compiler_style_lines_and_exits_1_on_errors() {
    let dir = fixture("broken-link");
    let out = helpcenter().arg("check").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let first = format!(
        "{}:5:3: error: link to \"missing.md\": the file does not exist [broken-link]",
        dir.join("from.md").display()
    );
    assert_eq!(lines[0], first);
    assert_eq!(
        lines.last().copied(),
        Some("7 errors, 0 warnings in 1 file (2 files checked)")
    );
}

#[test]
fn cli_json_for_tools_and_exit_0_with_only_warnings() {
    let out = helpcenter()
        .args(["check", "--format", "json"])
        .arg(fixture("empty-article"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["errors"], 0);
    assert_eq!(json["warnings"], 4);
    assert_eq!(json["files_checked"], 6);
    assert_eq!(json["files_with_diagnostics"], 4);
    let first = &json["diagnostics"][0];
    assert_eq!(first["path"], "empty.md");
    assert_eq!(first["line"], 4);
    assert_eq!(first["column"], 1);
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["code"], "empty-article");

    // Without DIR, `check` reads ./articles like `serve`: the demo articles, clean.
    let out = helpcenter()
        .arg("check")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // A folder that is not there is not a lint result: exit 2.
    let out = helpcenter()
        .args(["check", "no/such/folder"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
