//! `helpcenter check` and audiences: the names articles and `_folder.toml` files use,
//! the folder files' own problems, links some readers of an article cannot follow, and
//! the note a duplicate slug carries. Each test writes a small articles folder to a
//! temporary directory and checks it with the library.

use std::path::Path;

use helpcenter::kb::check::{check_articles, CheckReport, Severity};

/// An articles folder in a temporary directory, from `(path, content)` pairs.
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn check(dir: &tempfile::TempDir) -> CheckReport {
    check_articles(dir.path()).expect("the folder can be listed")
}

/// `(code, path, line)` of every diagnostic, in report order.
fn found(report: &CheckReport) -> Vec<(&'static str, &str, usize)> {
    report
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.path.as_str(), d.line))
        .collect()
}

const SEGMENTS: (&str, &str) = ("_folder.toml", "segments = [\"gold\", \"partners\"]\n");

#[test]
fn an_unknown_audience_name_is_an_error_naming_the_declared_segments() {
    let dir = folder(&[
        SEGMENTS,
        (
            "vip.md",
            "---\ntitle: VIP\naudience: [gold, silver]\n---\nFor our best customers.\n",
        ),
    ]);
    let report = check(&dir);
    assert_eq!(found(&report), vec![("unknown-audience", "vip.md", 3)]);
    let d = &report.diagnostics[0];
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.column, 1);
    assert_eq!(
        d.message,
        "unknown audience \"silver\": it is neither built in (public, signed-in, staff) nor \
         a declared segment (gold, partners); segments are declared in the articles folder's \
         own _folder.toml"
    );
    assert!(report.has_errors());
}

#[test]
fn without_declared_segments_an_unknown_name_says_where_to_declare_it() {
    let dir = folder(&[(
        "vip.md",
        "+++\ntitle = \"VIP\"\n\naudience = \"gold\"\n+++\nFor our best customers.\n",
    )]);
    let report = check(&dir);
    assert_eq!(found(&report), vec![("unknown-audience", "vip.md", 4)]);
    let message = &report.diagnostics[0].message;
    assert!(message.contains("\"gold\""), "{message}");
    assert!(message.contains("no segments are declared"), "{message}");
    assert!(
        message.contains("_folder.toml: segments = [\"gold\"]"),
        "{message}"
    );
}

#[test]
fn built_in_audiences_and_declared_segments_are_not_reported() {
    let dir = folder(&[
        SEGMENTS,
        ("a.md", "---\ntitle: A\naudience: public\n---\nText.\n"),
        (
            "b.md",
            "---\ntitle: B\naudience: [signed-in, staff]\n---\nText.\n",
        ),
        (
            "c.md",
            "---\ntitle: C\naudience: Gold, partners\n---\nSee [b](b.md).\n",
        ),
        ("team/_folder.toml", "audience = [\"gold\", \"staff\"]\n"),
        ("team/d.md", "# D\n\nText.\n"),
    ]);
    let report = check(&dir);
    assert_eq!(found(&report), vec![], "{report:#?}");
}

#[test]
fn an_inherited_unknown_audience_is_reported_once_at_the_folder_file() {
    let dir = folder(&[
        SEGMENTS,
        (
            "vip/_folder.toml",
            "# Only our best customers.\n\naudience = [\"gold\", \"platinum\"]\n",
        ),
        ("vip/one.md", "# One\n\nText.\n"),
        ("vip/two.md", "# Two\n\nText.\n"),
        ("vip/deeper/three.md", "# Three\n\nText.\n"),
    ]);
    let report = check(&dir);
    assert_eq!(
        found(&report),
        vec![("unknown-audience", "vip/_folder.toml", 3)]
    );
    let message = &report.diagnostics[0].message;
    assert!(
        message.starts_with("unknown audience \"platinum\""),
        "{message}"
    );
    assert!(message.contains("(gold, partners)"), "{message}");
    // An article's own audience still wins over its folder's: its names are its own.
    let dir = folder(&[
        SEGMENTS,
        ("vip/_folder.toml", "audience = \"platinum\"\n"),
        ("vip/one.md", "---\naudience: gold\n---\n# One\n\nText.\n"),
        ("vip/two.md", "---\naudience: silver\n---\n# Two\n\nText.\n"),
    ]);
    assert_eq!(
        found(&check(&dir)),
        vec![
            ("unknown-audience", "vip/_folder.toml", 1),
            ("unknown-audience", "vip/two.md", 2),
        ]
    );
}

#[test]
fn a_malformed_audience_is_an_error_at_its_key_and_the_file_is_not_indexed() {
    let dir = folder(&[(
        "odd.md",
        "---\ntitle: Odd\naudience: \"go ld\"\n---\nText.\n",
    )]);
    let report = check(&dir);
    assert_eq!(found(&report), vec![("invalid-audience", "odd.md", 3)]);
    let d = &report.diagnostics[0];
    assert_eq!(d.severity, Severity::Error);
    assert!(d.message.contains("\"go ld\""), "{}", d.message);
}

#[test]
fn a_broken_folder_file_is_an_error_at_its_line() {
    let dir = folder(&[
        (
            "internal/_folder.toml",
            "# Agents only.\naudiance = \"staff\"\n",
        ),
        ("internal/runbook.md", "# Runbook\n\nText.\n"),
    ]);
    let report = check(&dir);
    assert_eq!(
        found(&report),
        vec![("invalid-folder-file", "internal/_folder.toml", 2)]
    );
    let d = &report.diagnostics[0];
    assert_eq!(d.severity, Severity::Error);
    assert!(d.message.contains("audiance"), "{}", d.message);
    assert!(
        d.message.contains("staff-only until it is fixed"),
        "{}",
        d.message
    );
    // Segments belong to the articles folder's own file only.
    let dir = folder(&[("team/_folder.toml", "segments = [\"gold\"]\n")]);
    let report = check(&dir);
    assert_eq!(
        found(&report),
        vec![("invalid-folder-file", "team/_folder.toml", 1)]
    );
    assert!(report.diagnostics[0].message.contains("`segments`"));
}

#[test]
fn a_public_article_linking_to_a_staff_one_gets_a_warning() {
    let dir = folder(&[
        ("internal/_folder.toml", "audience = \"staff\"\n"),
        ("internal/runbook.md", "# Runbook\n\nRestart the worker.\n"),
        (
            "refunds.md",
            "---\ntitle: Refunds\n---\nAsk support.\n\nAgents: see [the runbook](internal/runbook.md)\n\
             or [the same](/articles/internal/runbook).\n",
        ),
    ]);
    let report = check(&dir);
    assert_eq!(
        found(&report),
        vec![
            ("link-to-restricted", "refunds.md", 6),
            ("link-to-restricted", "refunds.md", 7),
        ]
    );
    let d = &report.diagnostics;
    assert_eq!((d[0].column, d[1].column), (13, 4));
    assert!(d.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(
        d[0].message,
        "links to \"internal/runbook\" (audience: staff), which some readers of this article \
         (audience: public) cannot open"
    );
    assert!(!report.has_errors(), "a warning only: {report:#?}");
}

#[test]
fn a_link_every_reader_of_the_article_may_follow_gets_no_warning() {
    let dir = folder(&[
        SEGMENTS,
        ("internal/_folder.toml", "audience = \"staff\"\n"),
        // Staff may open everything: a runbook may link anywhere.
        (
            "internal/runbook.md",
            "# Runbook\n\nSee [refunds](../refunds.md), [gold](../gold.md).\n",
        ),
        // Everyone may open a public article.
        (
            "refunds.md",
            "---\naudience: public\n---\n# Refunds\n\nSee [members](members.md).\n",
        ),
        // A gold customer is signed in.
        (
            "gold.md",
            "---\naudience: gold\n---\n# Gold\n\nSee [members](members.md).\n",
        ),
        (
            "members.md",
            "---\naudience: signed-in\n---\n# Members\n\nSee [refunds](refunds.md).\n",
        ),
    ]);
    let report = check(&dir);
    assert_eq!(
        found(&report),
        vec![("link-to-restricted", "refunds.md", 6)],
        "{report:#?}"
    );
    // The other way round is a warning: not every signed-in reader is a gold customer.
    let dir = folder(&[
        SEGMENTS,
        ("gold.md", "---\naudience: gold\n---\n# Gold\n\nText.\n"),
        (
            "members.md",
            "---\naudience: signed-in\n---\n# Members\n\nSee [gold](gold.md).\n",
        ),
    ]);
    let report = check(&dir);
    assert_eq!(
        found(&report),
        vec![("link-to-restricted", "members.md", 6)]
    );
    assert!(
        report.diagnostics[0]
            .message
            .contains("(audience: gold), which some readers of this article (audience: signed-in)"),
        "{}",
        report.diagnostics[0].message
    );
}

#[test]
fn a_duplicate_slug_points_at_the_first_definition() {
    let dir = folder(&[
        ("a.md", "---\ntitle: A\n\nslug: shared\n---\nText.\n"),
        ("b.md", "---\ntitle: B\nslug: shared\n---\nText.\n"),
        // c.md's slug comes from its path: its first definition is line 1.
        ("c.md", "# C\n\nText.\n"),
        ("d.md", "---\ntitle: D\nslug: c\n---\nText.\n"),
    ]);
    let report = check(&dir);
    assert_eq!(
        found(&report),
        vec![("duplicate-slug", "b.md", 3), ("duplicate-slug", "d.md", 3)]
    );
    let b = &report.diagnostics[0];
    assert_eq!(
        b.message,
        "duplicate slug \"shared\": a.md already has it, so b.md is not indexed"
    );
    let notes: Vec<(&str, usize, &str)> = report
        .diagnostics
        .iter()
        .flat_map(|d| &d.notes)
        .map(|n| (n.path.as_str(), n.line, n.message.as_str()))
        .collect();
    assert_eq!(
        notes,
        vec![
            ("a.md", 4, "the slug \"shared\" is first used here"),
            ("c.md", 1, "the slug \"c\" is first used here"),
        ]
    );

    // Text: an indented `note:` line under its diagnostic.
    let text = report.to_text(Path::new("articles"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "articles/b.md:3:1: error: duplicate slug \"shared\": a.md already has it, so b.md \
             is not indexed [duplicate-slug]",
            "  articles/a.md:4:1: note: the slug \"shared\" is first used here",
        ]
    );
    assert_eq!(
        lines[3],
        "  articles/c.md:1:1: note: the slug \"c\" is first used here"
    );

    // JSON: a `notes` array on the diagnostic.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["diagnostics"][0]["notes"],
        serde_json::json!([{
            "path": "a.md",
            "line": 4,
            "column": 1,
            "message": "the slug \"shared\" is first used here",
        }])
    );
}

#[test]
fn the_json_report_only_adds_fields() {
    let dir = folder(&[
        ("internal/_folder.toml", "audience = \"staff\"\n"),
        ("internal/runbook.md", "# Runbook\n\nText.\n"),
        (
            "faq.md",
            "# FAQ\n\nSee [the runbook](internal/runbook.md).\n",
        ),
    ]);
    let json = serde_json::to_value(check(&dir)).unwrap();
    assert_eq!(json["errors"], 0);
    assert_eq!(json["warnings"], 1);
    assert_eq!(json["files_checked"], 2);
    assert_eq!(json["files_with_diagnostics"], 1);
    let d = &json["diagnostics"][0];
    let mut keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    // No `notes` key when there are none: the same object as before notes existed.
    assert_eq!(
        keys,
        ["code", "column", "line", "message", "path", "severity"]
    );
    assert_eq!(d["code"], "link-to-restricted");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["path"], "faq.md");
    assert_eq!(d["line"], 3);
}
