//! `cordon audit` on inputs as agencies hand them over rather than as tools write them:
//! Windows line endings, folders of folders, workbooks with a notes sheet, text saved in
//! Windows-1252, one file named twice. Each test is a way an outside reviewer found the
//! audit losing or misplacing what an export says.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;
use std::path::Path;

const HEADER: &str = "Name,Org Name,Total Networks Searched,Total Devices Searched,Time Frame,License Plate,Reason,Case #,Filters,Search Time,Search Type";

fn row(reason: &str) -> String {
    format!("jsmith,Springfield IL PD,12,340,11/01/2025 12:00 AM - 11/14/2025 11:59 PM,ABC123,{reason},25-1,,\"11/14/2025, 09:53:36 AM UTC\",search")
}

/// An export whose `n` rows have reason "investigation" except those at the given
/// positions (1-based data rows), which read "ICE ERO"; lines end with `end`.
fn export(n: usize, flagged: &[usize], end: &str) -> String {
    let mut s = format!("{HEADER}{end}");
    for i in 1..=n {
        let reason = if flagged.contains(&i) {
            "ICE ERO"
        } else {
            "investigation"
        };
        s.push_str(&row(reason));
        s.push_str(end);
    }
    s
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

/// flagged.csv's `line` is evidence a reader checks against the file: it must be the line
/// the row is on in any editor, whatever ends the lines (CRLF before this was fixed gave
/// every row the line before it, the first row the header's).
#[test]
fn flagged_rows_keep_the_line_they_are_on_whatever_ends_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    for (name, end) in [("lf.csv", "\n"), ("crlf.csv", "\r\n"), ("cr.csv", "\r")] {
        let f = write(
            dir.path(),
            name,
            export(1000, &[1, 10, 500, 999], end).as_bytes(),
        );
        let a = audit(&[&f], &[]);
        assert_eq!(a.out.status.code(), Some(0), "{name}: {}", text(&a.out));
        assert_eq!(
            a.flagged_col("line"),
            ["2", "11", "501", "1000"],
            "{name}: the header is line 1, the first row line 2"
        );
    }
}

/// A release unpacked from a zip is folders of folders: every export in them is read, and
/// a folder with none is an error, not a clean audit of nothing.
#[test]
fn exports_in_folders_below_the_one_named_are_read_and_an_empty_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("release");
    write(&release, "top.csv", export(8, &[1], "\n").as_bytes());
    write(
        &release,
        "2025/q4/nested.csv",
        export(8, &[2, 3], "\n").as_bytes(),
    );
    write(&release, "2025/readme.txt", b"not an export");
    let a = audit(&[&release], &[]);
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.summary["rows"], 16, "{}", a.summary);
    assert_eq!(a.flagged.len(), 3);
    let warnings = a.summary["warnings"].to_string();
    assert!(warnings.contains("readme.txt"), "{warnings}");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    let a = audit(&[&empty], &[]);
    assert_eq!(a.out.status.code(), Some(1), "{}", text(&a.out));
    assert!(
        text(&a.out).contains("nothing was audited"),
        "{}",
        text(&a.out)
    );
}

/// The same file named twice (or a folder and a file in it) is one file: its searches are
/// not counted twice, and the reader is told.
#[test]
fn a_file_named_twice_is_read_once_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "base.csv", export(2, &[1, 2], "\n").as_bytes());
    let a = audit(&[&f, &f, dir.path()], &[]);
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.summary["rows"], 2, "{}", a.summary);
    assert_eq!(a.flagged.len(), 2);
    assert!(
        a.summary["warnings"]
            .to_string()
            .contains("named more than once"),
        "{}",
        a.summary["warnings"]
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/exports")
        .join(name)
}

/// A workbook whose first sheet is a note on what was withheld, and whose audit sheet has
/// a title above its header: the audit sheet is read from its header on (rows keep their
/// sheet numbers), and the note sheet and the title are named, not taken for the export.
#[test]
fn a_workbook_with_a_notes_sheet_and_a_title_row_is_audited_from_its_header() {
    let a = audit(&[&fixture("notes-sheet-and-title-rows.xlsx")], &[]);
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.summary["rows"], 4, "{}", a.summary);
    assert_eq!(a.flagged.len(), 2);
    assert_eq!(
        a.flagged_col("line"),
        ["5", "7"],
        "the sheet's own row numbers"
    );
    assert!(a.flagged_col("source_file")[0].ends_with("[Audit]"));
    let warnings = a.summary["warnings"].to_string();
    assert!(warnings.contains("[Notes]: not read"), "{warnings}");
    assert!(
        warnings.contains("Flock Safety Network Audit"),
        "{warnings}"
    );
    assert!(
        a.report.contains("[Notes]: not read"),
        "the report says it too"
    );
}

/// Excel on Windows saves "CSV" in Windows-1252: "deportación" is then the byte 0xF3, not
/// UTF-8. Read as a replacement character it hid the word from screening in silence; it is
/// now read as Windows-1252, and the report says so.
#[test]
fn a_windows_1252_export_is_screened_as_written_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = format!("{HEADER}\r\n").into_bytes();
    for reason in [
        &b"deportaci\xF3n"[..],
        b"DEPORTACI\xD3N",
        b"migraci\xF3n",
        b"robo de veh\xEDculo",
    ] {
        let line = row("REASON");
        let (before, after) = line.split_once("REASON").unwrap();
        bytes.extend_from_slice(before.as_bytes());
        bytes.extend_from_slice(reason);
        bytes.extend_from_slice(after.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    let f = write(dir.path(), "cp1252.csv", &bytes);
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.flagged.len(), 3, "{}", a.summary);
    assert_eq!(a.flagged_col("line"), ["2", "3", "4"]);
    assert_eq!(
        a.flagged_col("Reason")[0],
        "deportación",
        "flagged.csv is UTF-8"
    );
    let warnings = a.summary["warnings"].to_string();
    assert!(warnings.contains("Windows-1252"), "{warnings}");
    assert!(a.report.contains("Windows-1252"));
}

/// One stray quote makes the rest of the file one damaged record (Python's csv module
/// reads it so too); the error named only its first line, so 998 lost rows looked like one.
#[test]
fn a_quote_that_never_closes_says_how_many_lines_it_took_in() {
    let dir = tempfile::tempdir().unwrap();
    // ISO times, so that no quoted cell after the stray quote closes it.
    let iso = |t: String| t.replace("\"11/14/2025, 09:53:36 AM UTC\"", "2025-11-14T09:53:36Z");
    let csv = iso(export(1000, &[1, 3, 999], "\n")).replacen(
        &iso(row("investigation")),
        &iso(row("\"per agent")),
        1,
    );
    let f = write(dir.path(), "stray.csv", csv.as_bytes());
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(1), "{}", text(&a.out));
    let err = a.summary["files"][0]["errors"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(err.starts_with("line 3:"), "{err}");
    assert!(
        err.contains("lines 3–1001") && err.contains("998 line(s)"),
        "{err}"
    );
}

/// A sum of networks over flagged searches that some gave no count for is a lower bound,
/// and says so; and where files repeat searches, the reasons table counts rows and is
/// headed so (it said "Searches" over row counts).
#[test]
fn reach_says_when_it_is_a_lower_bound_and_repeated_rows_are_counted_as_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = format!("{HEADER}\n");
    for networks in ["12", "N/A", "***"] {
        csv.push_str(&row("ICE ERO").replacen(",12,", &format!(",{networks},"), 1));
        csv.push('\n');
    }
    let f = write(dir.path(), "reach.csv", csv.as_bytes());
    let a = audit(&[&f], &[]);
    assert!(
        a.report
            .contains("only 1 of the 3 flagged searches gave a readable count"),
        "{}",
        a.report
    );

    let portal = |ids: &[&str]| {
        let mut s = String::from("\"id\",\"userId\",\"searchDate\",\"networkCount\",\"reason\"\n");
        for id in ids {
            s.push_str(&format!(
                "\"{id}\",\"***\",\"2026-03-20T17:05:11Z\",\"3\",\"ICE ERO\"\n"
            ));
        }
        s
    };
    let one = write(
        dir.path(),
        "p/a.csv",
        portal(&["S1", "S2", "S3"]).as_bytes(),
    );
    let two = write(
        dir.path(),
        "p/b.csv",
        portal(&["S2", "S3", "S4"]).as_bytes(),
    );
    let a = audit(&[&one, &two], &["--org", "Example CA PD"]);
    assert_eq!(a.summary["searches"]["immigration"], 4, "{}", a.summary);
    assert!(
        a.report.contains("<th>Rows</th><th>Stated reason</th>"),
        "{}",
        a.report
    );
}

/// Excel's "Unicode Text" is UTF-16 with a byte-order mark, tab-separated, CRLF: it was
/// refused as "a binary file". It is read as the same export saved as CSV UTF-8 is.
#[test]
fn an_excel_unicode_text_export_is_read_as_its_utf8_twin() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = export(6, &[2, 5], "\r\n")
        .lines()
        .map(|l| {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(l.as_bytes());
            let rec = r.records().next().unwrap().unwrap();
            rec.iter().collect::<Vec<_>>().join("\t")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        .replace("ICE ERO", "ICE ERO – deportación");
    let mut bytes = vec![0xFF, 0xFE];
    for u in format!("{tsv}\r\n").encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let f = write(dir.path(), "unicode.txt.csv", &bytes);
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.summary["rows"], 6, "{}", a.summary);
    assert_eq!(a.flagged_col("line"), ["3", "6"]);
    assert_eq!(a.flagged_col("Reason")[0], "ICE ERO – deportación");
    assert!(a.flagged_col("source_file")[0].ends_with("unicode.txt.csv"));
}

/// A search's filters (and a 13-column export's text prompt) can say immigration where its
/// reason says only "investigation": screened too, without making a vague reason count as
/// a stated one.
#[test]
fn filters_that_name_an_immigration_hotlist_are_screened_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let with_filters =
        |filters: &str| row("investigation").replacen(",25-1,,", &format!(",25-1,{filters},"), 1);
    let csv = format!(
        "{HEADER}\n{}\n{}\n",
        with_filters("Hotlist: NCIC Immigration Violator"),
        with_filters("Color: Ice White")
    );
    let f = write(dir.path(), "filters.csv", csv.as_bytes());
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.flagged_col("line"), ["2"], "{}", a.summary);
    assert_eq!(a.summary["reason_states"]["vague"], 1, "{}", a.summary);
    assert!(a.flagged_col("matched_terms")[0].contains("Immigration"));
}

/// A case number is free text too: "ICE ERO 4471" in the Case # column beside the reason
/// "investigation" is an immigration search by a local agency (a side door), while an
/// ordinary case number is not flagged and the vague reason still counts as vague; the
/// reason is the case's context (a missing child's "DHS-..." case is human services).
#[test]
fn immigration_words_in_the_case_number_are_screened() {
    let dir = tempfile::tempdir().unwrap();
    let with_case = |case: &str| row("investigation").replacen(",25-1,", &format!(",{case},"), 1);
    let child = row("missing child").replacen(",25-1,", ",DHS-2025-0412,", 1);
    let csv = format!(
        "{HEADER}\n{}\n{}\n{}\n{child}\n",
        with_case("ICE ERO 4471"),
        with_case("CASE-58400"),
        with_case("24-118233")
    );
    let f = write(dir.path(), "case.csv", csv.as_bytes());
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.flagged_col("line"), ["2"], "{}", a.summary);
    assert!(
        a.flagged_col("flags")[0].contains("side_door"),
        "{}",
        a.summary
    );
    assert_eq!(
        a.flagged_col("matched_terms")[0],
        "ICE;ERO",
        "{}",
        a.summary
    );
    assert_eq!(a.summary["reason_states"]["vague"], 3, "{}", a.summary);
}

/// A `--map` name that matches no column (a typo) is said, with the file's columns, rather
/// than leaving the real column unread under a message that only says to use --map.
#[test]
fn a_map_naming_no_column_says_so_and_lists_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "base.csv", export(2, &[1], "\n").as_bytes());
    let a = audit(&[&f], &["--map", "reason=Nonexistent"]);
    let warnings = a.summary["warnings"].to_string();
    assert!(
        warnings.contains("--map reason=Nonexistent: no column of this file is named")
            && warnings.contains("Org Name"),
        "{warnings}"
    );
}

/// A JSON-lines record with a key twice was screened on the last value in silence (JSON
/// parsers keep the last): the record is now refused, named by its line.
#[test]
fn a_json_record_with_a_key_twice_is_an_error_not_the_last_value() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "dup.jsonl",
        concat!(
            "{\"id\":\"d0\",\"org_name\":\"X\",\"search_time\":\"2025-11-14T09:53:36Z\",\"reason\":\"theft\"}\n",
            "{\"id\":\"d1\",\"org_name\":\"X\",\"search_time\":\"2025-11-14T09:53:36Z\",\"reason\":\"ICE ERO\",\"reason\":\"investigation\"}\n",
        )
        .as_bytes(),
    );
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(1), "{}", text(&a.out));
    let t = text(&a.out);
    assert!(
        t.contains("line 2") && t.contains(r#""reason" appears more than once"#),
        "{t}"
    );
    assert_eq!(a.summary["rows"], 1, "{}", a.summary);
}

/// A stray quote closed by a later quoted cell joins the lines between into one row whose
/// fields still number the header's: read as one search in silence before. Now an error
/// naming the lines, in a CR-only file as in an LF one, and in the report's first box.
#[test]
fn a_stray_quote_that_joins_rows_is_an_error_naming_the_lines_it_took() {
    let dir = tempfile::tempdir().unwrap();
    for (name, end) in [("joined.csv", "\n"), ("joined-cr.csv", "\r")] {
        let rows = [
            "Name,Org Name,Reason,Search Time",
            "a,Springfield PD,stolen,2025-11-14T09:53:36Z",
            "b,Springfield PD,\"unclosed ICE,2025-11-14T09:53:36Z",
            "c0,Springfield PD,immigration 0,2025-11-14T09:53:36Z",
            "c1,Springfield PD,immigration 1,2025-11-14T09:53:36Z",
            "d,Springfield PD,\"ICE ERO\",2025-11-14T09:53:36Z",
            "e,Springfield PD,deportation,2025-11-14T09:53:36Z",
        ];
        let f = write(
            dir.path(),
            name,
            format!("{}{end}", rows.join(end)).as_bytes(),
        );
        let a = audit(&[&f], &[]);
        assert_eq!(a.out.status.code(), Some(1), "{name}: {}", text(&a.out));
        let err = a.summary["files"][0]["errors"][0]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            err.starts_with("line 3:") && err.contains("lines 3–6"),
            "{name}: {err}"
        );
        assert!(
            a.first_lines().contains("lines 3–6"),
            "{name}: the report says it first"
        );
    }
}

/// Rows with no search in them (a workbook's blank row, a "Total" line, a row of commas)
/// and a header repeated where exports were joined are not searches: not counted, said.
#[test]
fn blank_total_and_repeated_header_rows_are_not_counted_as_searches() {
    let dir = tempfile::tempdir().unwrap();
    let one = export(2, &[1], "\n");
    let joined = format!(
        "{one}{},,,,,,,,,,\nTotal,,,,,,,,,,\n",
        one.split_once('\n').unwrap().1
    ) + &one;
    let f = write(dir.path(), "joined.csv", joined.as_bytes());
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.summary["rows"], 6, "{}", a.summary);
    let warnings = a.summary["warnings"].to_string();
    assert!(warnings.contains("2 row(s) held no search"), "{warnings}");
    assert!(
        warnings.contains("repeat the header") && warnings.contains("line(s) 8"),
        "{warnings}"
    );
}

/// JSON lines as Windows tools write them: a byte-order mark, UTF-16, Windows-1252.
#[test]
fn json_lines_from_windows_tools_are_read_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let record = |reason: &str| {
        format!("{{\"id\":\"1\",\"org_name\":\"X PD\",\"search_time\":\"2025-11-14T09:53:36Z\",\"reason\":\"{reason}\"}}\n")
    };
    let bom = write(
        dir.path(),
        "bom.jsonl",
        format!("\u{feff}{}", record("ICE ERO")).as_bytes(),
    );
    let mut utf16 = vec![0xFF, 0xFE];
    for u in record("ICE ERO").encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let u16 = write(dir.path(), "u16.jsonl", &utf16);
    let mut cp = record("deportaci").into_bytes();
    cp.splice(cp.len() - 3..cp.len() - 3, [0xF3, b'n']);
    let cp1252 = write(dir.path(), "cp1252.jsonl", &cp);
    for f in [&bom, &u16, &cp1252] {
        let a = audit(&[f], &[]);
        assert_eq!(
            a.out.status.code(),
            Some(0),
            "{}: {}",
            f.display(),
            text(&a.out)
        );
        assert_eq!(a.flagged.len(), 1, "{}: {}", f.display(), a.summary);
    }
    let mut utf32 = vec![0xFF, 0xFE, 0, 0];
    utf32.extend(b"R\0\0\0");
    let u32 = write(dir.path(), "u32.csv", &utf32);
    let a = audit(&[&u32], &[]);
    assert!(
        text(&a.out).contains("UTF-32") && text(&a.out).contains("u32.csv"),
        "{}",
        text(&a.out)
    );
}

/// A folder inside a folder already named, a hard link to a file named, and a byte-for-byte
/// copy are each one file: read once, said, and not an error.
#[test]
fn a_nested_folder_a_hard_link_and_a_copy_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("top");
    let f = write(&top, "sub/a.csv", export(3, &[1], "\n").as_bytes());
    std::fs::hard_link(&f, dir.path().join("link.csv")).unwrap();
    std::fs::copy(&f, dir.path().join("a (1).csv")).unwrap();
    let a = audit(
        &[
            &top,
            &top.join("sub"),
            &dir.path().join("link.csv"),
            &dir.path().join("a (1).csv"),
        ],
        &[],
    );
    assert_eq!(a.out.status.code(), Some(0), "{}", text(&a.out));
    assert_eq!(a.summary["rows"], 3, "{}", a.summary);
    let warnings = a.summary["warnings"].to_string();
    assert!(
        warnings.contains("already read as part of a folder"),
        "{warnings}"
    );
    assert!(warnings.contains("named more than once"), "{warnings}");
    assert!(warnings.contains("a copy of it"), "{warnings}");
}

/// `--map reason=Reason,reason=Name` kept the second in silence.
#[test]
fn a_field_mapped_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.csv", export(1, &[], "\n").as_bytes());
    let a = audit(&[&f], &["--map", "reason=Reason,reason=Name"]);
    assert_ne!(a.out.status.code(), Some(0));
    assert!(
        text(&a.out).contains("--map names reason twice"),
        "{}",
        text(&a.out)
    );
}
