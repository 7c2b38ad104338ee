//! `cordon audit` on Flock export variants, generic CSV and JSONL, and on bad input.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;
use std::path::Path;

fn audit(args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let out_dir = args[args.iter().position(|a| *a == "--out").unwrap() + 1];
    let mut full = vec!["audit"];
    full.extend_from_slice(args);
    let o = run(&full, b"");
    let summary = std::fs::read(Path::new(out_dir).join("summary.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (o, summary)
}

/// A generated export of `rows` rows in `dir`.
fn generate(dir: &Path, rows: u64) -> std::path::PathBuf {
    let f = dir.join("gen.csv");
    let rows = rows.to_string();
    let o = run(
        &[
            "audit",
            "generate",
            "--rows",
            &rows,
            "--out",
            f.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    f
}

const NETWORK_AUDIT: &str = "\u{feff}Name,Org Name,Total Networks Searched,Total Devices Searched,Time Frame,License Plate,Reason,Case #,Filters,Search Time,Search Type\n\
Officer A,Danville PD,6674,77771,\"05/01/2025, 12:00:00 AM UTC -\n05/02/2025, 12:00:00 AM UTC\",***,ICE+ERO,,,\"05/02/2025, 10:00:00 AM UTC\",search\n\
Officer B,Danville PD,10,100,\"05/01/2025, 12:00:00 AM UTC -\n05/02/2025, 12:00:00 AM UTC\",***,stolen car,25-1,,\"05/03/2025, 10:00:00 AM UTC\",search\n\
Agent C,[Federal] U.S. Immigration and Customs Enforcement (ICE),3,30,\"06/01/2025, 12:00:00 AM UTC -\n06/02/2025, 12:00:00 AM UTC\",***,Other - Not Applicable,,,\"06/02/2025, 01:00:00 PM UTC\",lookup\n\
Officer D,Rice County Sheriff,1,2,x,***,black ice crash,,,\"06/05/2025, 01:00:00 PM UTC\",search\n";

#[test]
fn flock_network_audit_with_bom_multiline_cells_and_redactions() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("network.csv");
    std::fs::write(&f, NETWORK_AUDIT).unwrap();
    let out = tmp.path().join("out");
    let (o, s) = audit(&[f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(s["rows"], 4);
    assert_eq!(s["flagged"]["immigration"], 1);
    assert_eq!(s["flagged"]["immigration_agency"], 1);
    assert_eq!(s["flagged"]["side_door"], 1);
    assert_eq!(s["by_org"]["Danville PD"]["side_door"], 1);
    assert_eq!(s["by_org"]["Rice County Sheriff"]["any"], 0);
    assert_eq!(s["by_month"]["2025-05"]["any"], 1);
    assert_eq!(s["reach"]["networks_flagged"], 6677);
    assert_eq!(s["reach"]["devices_flagged"], 77801);
    let flagged = std::fs::read_to_string(out.join("flagged.csv")).unwrap();
    let mut r = csv::Reader::from_reader(flagged.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    assert_eq!(&rows[0][col("Reason")], "ICE+ERO");
    assert_eq!(&rows[0][col("matched_terms")], "ICE;ERO");
    assert_eq!(&rows[0][col("line")], "2");
    assert!(
        rows[0][col("Time Frame")].contains('\n'),
        "multi-line cell kept verbatim"
    );
    assert_eq!(&rows[1][col("flags")], "immigration_agency");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report.contains("<mark>ICE</mark>+<mark>ERO</mark>"),
        "terms highlighted"
    );
}

#[test]
fn thirteen_column_variant_and_invalid_utf8_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("thirteen.csv");
    let mut data = b"ID,Name,Org Name,Total Networks Searched,Time Frame,License Plate,Reason,Case #,Filters,Search Time,Search Type,Text Prompt,Moderation\n".to_vec();
    data.extend_from_slice(
        b"1,X,Sample PD,5,tf,***,inmigraci\xf3n ICE,,,\"01/02/2025, 01:00:00 PM UTC\",search,,\n",
    );
    data.extend_from_slice(
        b"2,Y,Sample PD,5,tf,***,theft,,,\"01/02/2025, 01:00:00 PM UTC\",search,,\n",
    );
    std::fs::write(&f, data).unwrap();
    let out = tmp.path().join("out");
    let (o, s) = audit(&[
        f.to_str().unwrap(),
        "--format",
        "flock",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(s["rows"], 2);
    assert_eq!(s["flagged"]["immigration"], 1);
}

#[test]
fn a_file_without_a_reason_column_is_audited_with_a_warning_and_status_3() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("no-reason.csv");
    std::fs::write(&bad, "Name,Org Name,Search Time\nA,B,C\n").unwrap();
    let good = tmp.path().join("good.csv");
    std::fs::write(&good, NETWORK_AUDIT).unwrap();
    let out = tmp.path().join("out");
    let (o, s) = audit(&[
        bad.to_str().unwrap(),
        good.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("no-reason.csv")
            && t.contains("no reason column")
            && t.contains("--map reason="),
        "{t}"
    );
    assert_eq!(s["rows"], 5, "both files were audited");
    assert_eq!(s["files"][1]["rows"], 4);
}

#[test]
fn binary_and_truncated_files_are_reported_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("export.csv");
    std::fs::write(&bin, b"PK\x03\x04\x00\x00binary").unwrap();
    let trunc = tmp.path().join("truncated.csv");
    let full = NETWORK_AUDIT;
    std::fs::write(&trunc, &full[..full.len() - 40]).unwrap();
    let out = tmp.path().join("out");
    let (o, s) = audit(&[
        bin.to_str().unwrap(),
        trunc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("export.csv") && t.contains("binary"), "{t}");
    // The last record starts on line 8 (rows before it span two lines each).
    assert!(t.contains("truncated.csv: line 8: has 7 fields"), "{t}");
    assert_eq!(s["rows"], 3, "rows before the damage were audited");
}

/// A JSON-lines export's keys are matched as a CSV header's are, and a key Cordon does
/// not understand is listed, never silently dropped (an outside attack found "Reason",
/// "purpose" and "notes" lost with exit 0 and no warning).
#[test]
fn a_jsonl_export_names_the_keys_it_does_not_read_and_matches_known_ones_in_any_case() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path().join("unk.jsonl");
    std::fs::write(
        &j,
        concat!(
            "{\"id\":\"k1\",\"org\":\"X PD\",\"reason\":\"theft\",\"time\":\"2025-11-14T09:53:36Z\",\"notes\":\"for ERO\"}\n",
            "{\"id\":\"k2\",\"Org_Name\":\"X PD\",\"Reason\":\"ICE ERO\",\"Search Time\":\"2025-11-14T09:53:36Z\"}\n",
            "{\"id\":\"k3\",\"org\":\"X PD\",\"reason\":\"theft\",\"time\":\"2025-11-14T09:53:36Z\",\"extra\":{\"why\":\"immigration\"}}\n",
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let (o, s) = audit(&[j.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(s["rows"], 3, "{}", text(&o));
    assert_eq!(
        s["flagged"]["immigration"],
        1,
        "\"Reason\" is the reason column in any case: {}",
        text(&o)
    );
    assert_eq!(unmapped(&s), ["notes", "extra"], "{s}");
    assert!(
        text(&o).contains("columns Cordon does not understand") && text(&o).contains("notes"),
        "{}",
        text(&o)
    );
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("notes") && report.contains("extra"));

    // A dotted --map name reads one key of a nested object; the object's other keys are
    // listed, and the name claims no top-level key whose folded spelling matches it.
    let (o, s, listed) = audit_jsonl(
        tmp.path(),
        "{\"time\":\"2025-11-14T09:53:36Z\",\"org\":\"Metro PD\",\"detailsReason\":\"x\",\"details\":{\"reason\":\"assist ICE removal\",\"purpose\":\"burglary\"}}\n",
        "reason=details.reason",
    );
    assert_eq!(listed, ["detailsReason", "details.purpose"], "{}", text(&o));
    assert_eq!(
        s["flagged"]["immigration"], 1,
        "the reason read is details.reason, not detailsReason"
    );

    // Nested keys vary where top-level ones do not: the second record's purpose, two
    // levels down, and a key that merely starts like the mapped one are listed too.
    let (o, _, listed) = audit_jsonl(
        tmp.path(),
        concat!(
            "{\"time\":\"2025-11-14T09:53:36Z\",\"org\":\"Metro PD\",\"details\":{\"reason\":{\"text\":\"burglary\"}}}\n",
            "{\"time\":\"2025-11-14T09:54:36Z\",\"org\":\"Metro PD\",\"details\":{\"reason\":{\"text\":\"investigation\",\"code\":\"ICE\"},\"purpose\":\"assist ICE removal\",\"rea\":\"x\"}}\n",
        ),
        "reason=details.reason.text",
    );
    assert_eq!(
        listed,
        ["details.purpose", "details.rea", "details.reason.code"],
        "{}",
        text(&o)
    );
}

/// Audits `lines` as a JSON-lines export with `--map map`, in a folder of its own under
/// `dir`; returns the output, summary.json and the keys it lists as unread.
fn audit_jsonl(
    dir: &Path,
    lines: &str,
    map: &str,
) -> (std::process::Output, serde_json::Value, Vec<String>) {
    let case = tempfile::tempdir_in(dir).unwrap();
    let f = case.path().join("export.jsonl");
    std::fs::write(&f, lines).unwrap();
    let out = case.path().join("out");
    let (o, s) = audit(&[
        f.to_str().unwrap(),
        "--map",
        map,
        "--out",
        out.to_str().unwrap(),
    ]);
    let listed = unmapped(&s);
    (o, s, listed)
}

/// The keys or columns a summary.json lists as unread.
fn unmapped(s: &serde_json::Value) -> Vec<String> {
    s["unmapped_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Network audits repeat one search in many agencies' files: every figure the reader is
/// told is a count of searches must be one, and a figure of rows must say rows (an
/// outside attack found the tiles, stdout and charts counting each copy as a search).
#[test]
fn searches_repeated_across_files_are_counted_once_wherever_a_figure_says_searches() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("copies");
    std::fs::create_dir(&dir).unwrap();
    let export = concat!(
        "ID,Name,Org Name,Reason,Search Time\n",
        "s1,Officer 1,Metro PD,assist ICE ERO,\"07/16/2024, 11:14:52 PM UTC\"\n",
        "s2,Officer 2,Metro PD,burglary,\"07/16/2024, 11:15:52 PM UTC\"\n",
        "s3,Officer 3,Metro PD,immigration detainer,\"07/16/2024, 11:16:52 PM UTC\"\n",
        "s4,Officer 4,Metro PD,investigation,\"07/16/2024, 11:17:52 PM UTC\"\n",
    );
    std::fs::write(dir.join("a.csv"), export).unwrap();
    // Another agency's audit lists the same searches, in its own order (a byte-for-byte
    // copy would be read once).
    let (header, rows) = export.split_once('\n').unwrap();
    let mut reordered: Vec<&str> = rows.lines().collect();
    reordered.reverse();
    std::fs::write(
        dir.join("b.csv"),
        format!("{header}\n{}\n", reordered.join("\n")),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let (o, s) = audit(&[dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(s["rows"], 8);
    assert_eq!(s["searches"]["distinct"], 4);
    assert_eq!(s["searches"]["immigration"], 2);
    let said = text(&o);
    assert!(said.contains("8 rows read, 4 distinct searches"), "{said}");
    assert!(
        said.contains("searches: 2 with an immigration reason"),
        "{said}"
    );
    assert!(
        said.contains("of 8 rows give no checkable reason"),
        "{said}"
    );
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report.contains("data-figure=\"immigration\">2<"),
        "the tile counts distinct searches"
    );
    assert!(report.contains("Flagged rows by agency"));
    // flagged.csv keeps cells verbatim, formula-like ones too: the reader is told how to
    // open it safely.
    assert!(report.contains("id=\"flagged-csv-warning\""));
    assert!(
        !report.contains("of 8 searches"),
        "eight rows are four searches"
    );
}

/// A record that never ends (an unclosed quote, then tens of megabytes) was held whole,
/// at several times its size in memory (an outside attack: 5.3 GB for a 1 GiB field).
/// Reading stops at the cap, naming the line; what came before is audited.
#[test]
fn a_record_that_never_ends_stops_the_file_at_the_cap_instead_of_filling_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("endless.csv");
    let mut bytes = b"ID,Name,Org Name,Reason,Search Time\ns1,Officer 1,Metro PD,assist ICE ERO,\"07/16/2024, 11:14:52 PM UTC\"\ns2,Officer 2,Metro PD,\"".to_vec();
    bytes.resize(bytes.len() + (70 << 20), b'x');
    std::fs::write(&f, bytes).unwrap();
    let out = tmp.path().join("out");
    let (o, s) = audit(&[f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("line 3") && text(&o).contains("runs past 64 MiB"),
        "{}",
        text(&o)
    );
    assert_eq!(s["rows"], 1, "the row before it is audited");
    assert_eq!(s["flagged"]["immigration"], 1);
}

#[test]
fn jsonl_and_generic_csv_with_a_column_map() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path().join("log.jsonl");
    std::fs::write(
        &j,
        "{\"why\":\"assist ICE with removal\",\"dept\":\"Metro PD\"}\n{\"why\":\"burglary\",\"dept\":\"Metro PD\"}\nnot json\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let (o, s) = audit(&[
        j.to_str().unwrap(),
        "--map",
        "reason=why,org=dept",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "the bad line makes the exit non-zero");
    assert!(text(&o).contains("line 3"), "{}", text(&o));
    assert_eq!(s["rows"], 2);
    assert_eq!(s["flagged"]["side_door"], 1);

    let c = tmp.path().join("records.csv");
    std::fs::write(
        &c,
        "user,purpose,agency\nu1,per ICE request,Records Unit\nu2,audit,Records Unit\n",
    )
    .unwrap();
    let out2 = tmp.path().join("out2");
    let (o, s) = audit(&[
        c.to_str().unwrap(),
        "--format",
        "csv",
        "--map",
        "reason=purpose",
        "--map",
        "org=agency",
        "--out",
        out2.to_str().unwrap(),
    ]);
    // No time column: audited, with a warning and the status that says so.
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("no search-time column"), "{}", text(&o));
    assert_eq!(s["flagged"]["immigration"], 1);
}

#[test]
fn generated_export_round_trips_through_the_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let f = generate(tmp.path(), 30_000);
    let out = tmp.path().join("out");
    let (o, s) = audit(&[
        f.to_str().unwrap(),
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(s["rows"], 30000);
    // The audit finds exactly what the generator planted: every immigration reason and
    // every immigration agency's search, and none of the look-alikes.
    let (mut reasons, mut agencies, mut either) = (0u64, 0u64, 0u64);
    for row in csv::Reader::from_path(&f).unwrap().records() {
        let row = row.unwrap();
        let reason = cordon_audit::sample::IMMIGRATION_REASONS.contains(&&row[6]);
        let agency = cordon_audit::sample::IMMIGRATION_ORGS.contains(&&row[2]);
        reasons += u64::from(reason);
        agencies += u64::from(agency);
        either += u64::from(reason || agency);
    }
    assert!(
        reasons > 100 && agencies > 30,
        "the generator planted too few to test"
    );
    assert_eq!(s["flagged"]["immigration"], reasons, "{s}");
    assert_eq!(s["flagged"]["immigration_agency"], agencies, "{s}");
    assert_eq!(s["flagged"]["any"], either, "{s}");
    let flagged = std::fs::read_to_string(out.join("flagged.csv")).unwrap();
    let n = csv::Reader::from_reader(flagged.as_bytes())
        .records()
        .count() as u64;
    assert_eq!(serde_json::json!(n), s["flagged"]["any"]);
    // Rows come out in input order even though chunks (about 4 MiB each, so this file
    // makes two) are parsed and classified in parallel, and each row's line number is
    // right across chunk boundaries: generated row k spans lines 2 + 2k and 3 + 2k.
    let mut reader = csv::Reader::from_reader(flagged.as_bytes());
    let id_col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "ID")
        .unwrap();
    let rows: Vec<(u64, u64)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[1].parse().unwrap(), r[id_col].parse().unwrap()))
        .collect();
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0));
    for (line, id) in &rows {
        assert_eq!(*line, 2 + 2 * id, "row {id}");
    }
    assert!(
        std::fs::metadata(&f).unwrap().len() > 4 << 20,
        "the export spans chunks"
    );
}

/// Guards every speed-up of the parallel path: the chunks (about 4 MiB each; this file
/// makes three) are read by however many workers there are and merged as they finish,
/// and none of that may change a byte of what the reader gets.
#[test]
fn the_outputs_are_the_same_bytes_whatever_the_number_of_workers() {
    let tmp = tempfile::tempdir().unwrap();
    let f = generate(tmp.path(), 60_000);
    assert!(
        std::fs::metadata(&f).unwrap().len() > 8 << 20,
        "fewer than three chunks"
    );
    let outputs: Vec<Vec<Vec<u8>>> = ["1", "2", "3"]
        .iter()
        .map(|threads| {
            let out = tmp.path().join(format!("out{threads}"));
            let (o, _) = audit(&[
                f.to_str().unwrap(),
                "--threads",
                threads,
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", text(&o));
            ["summary.json", "flagged.csv", "report.html"]
                .iter()
                .map(|name| std::fs::read(out.join(name)).unwrap())
                .collect()
        })
        .collect();
    for (i, name) in ["summary.json", "flagged.csv", "report.html"]
        .iter()
        .enumerate()
    {
        assert!(
            outputs.iter().all(|o| o[i] == outputs[0][i]),
            "{name} differs between 1, 2 and 3 workers"
        );
    }
}
